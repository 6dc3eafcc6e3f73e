"""A verification report as a PDF people can read, file and print: one or more A4 pages
in French, the verdict first, then the facts each signature's verdict rests on.

The JSON report is the contract; this is its human form, sealed by Chaîne before it
leaves (`signatures.seal`). The layout (wrapping, pages, fonts) is `core.pdf_text`'s.
"""

from __future__ import annotations

from datetime import UTC, datetime

from core.pdf_text import BOLD, GREY, REGULAR, Block, paragraph, render, row
from signatures.report import (
    Coverage,
    Indication,
    Level,
    Modifications,
    RevocationSource,
    RevocationStatus,
    SignatureReport,
    SubIndication,
    VerificationReport,
)

TITLE = "Rapport de vérification de signature"

VERDICTS = {
    Indication.TOTAL_PASSED: ("VALIDE", (0.0, 0.45, 0.15)),
    Indication.INDETERMINATE: ("INDÉTERMINÉ", (0.75, 0.4, 0.0)),
    Indication.TOTAL_FAILED: ("NON VALIDE", (0.75, 0.0, 0.0)),
}
SUMMARIES = {
    Indication.TOTAL_PASSED: "Toutes les signatures sont valides selon la politique appliquée.",
    Indication.INDETERMINATE: (
        "Au moins une signature n'a pas pu être confirmée : elle n'est ni prouvée valide, "
        "ni prouvée invalide. Le détail ci-dessous dit pourquoi."
    ),
    Indication.TOTAL_FAILED: (
        "Au moins une signature est invalide. Le détail ci-dessous dit pourquoi."
    ),
}
# ETSI EN 319 102-1 tables 6 and 7, said plainly.
SUB_INDICATIONS = {
    SubIndication.FORMAT_FAILURE: "la signature est mal formée ou illisible",
    SubIndication.HASH_FAILURE: "le document a été modifié depuis sa signature",
    SubIndication.SIG_CRYPTO_FAILURE: "la signature cryptographique est invalide",
    SubIndication.REVOKED: "le certificat du signataire est révoqué",
    SubIndication.NOT_YET_VALID: "le certificat n'était pas encore valide lors de la signature",
    SubIndication.SIG_CONSTRAINTS_FAILURE: "la signature ne respecte pas la politique",
    SubIndication.CHAIN_CONSTRAINTS_FAILURE: (
        "la chaîne de certification ne respecte pas la politique (autorité non reconnue, "
        "usage de la clé)"
    ),
    SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE: (
        "la chaîne de certification n'a pas pu être validée"
    ),
    SubIndication.CRYPTO_CONSTRAINTS_FAILURE: (
        "algorithme ou taille de clé refusés par la politique"
    ),
    SubIndication.EXPIRED: "le certificat du signataire a expiré avant la preuve d'existence",
    SubIndication.POLICY_PROCESSING_ERROR: "la politique de signature n'a pas pu être traitée",
    SubIndication.SIGNATURE_POLICY_NOT_AVAILABLE: "la politique de signature est introuvable",
    SubIndication.TIMESTAMP_ORDER_FAILURE: "les horodatages ne sont pas dans l'ordre attendu",
    SubIndication.NO_SIGNING_CERTIFICATE_FOUND: "le certificat du signataire est introuvable",
    SubIndication.NO_CERTIFICATE_CHAIN_FOUND: "aucune chaîne vers une autorité de confiance",
    SubIndication.REVOKED_NO_POE: (
        "certificat révoqué, sans preuve que la signature existait avant la révocation"
    ),
    SubIndication.REVOKED_CA_NO_POE: (
        "certificat d'autorité révoqué, sans preuve d'existence antérieure de la signature"
    ),
    SubIndication.OUT_OF_BOUNDS_NO_POE: (
        "hors de la période de validité du certificat, sans preuve d'existence"
    ),
    SubIndication.REVOCATION_OUT_OF_BOUNDS_NO_POE: (
        "données de révocation hors de leur période de validité, sans preuve d'existence"
    ),
    SubIndication.OUT_OF_BOUNDS_NOT_REVOKED: (
        "certificat expiré (non révoqué), sans preuve d'existence suffisante"
    ),
    SubIndication.CRYPTO_CONSTRAINTS_FAILURE_NO_POE: (
        "algorithme devenu insuffisant, sans preuve d'existence antérieure"
    ),
    SubIndication.NO_POE: "aucune preuve d'existence de la signature au moment requis",
    SubIndication.TRY_LATER: "données de révocation pas encore disponibles : réessayer plus tard",
    SubIndication.SIGNED_DATA_NOT_FOUND: "les données signées sont introuvables",
    SubIndication.GENERIC: "raison non précisée",
}
LEVELS = {
    Level.B_B: "signature seule",
    Level.B_T: "signature horodatée",
    Level.B_LT: "horodatée, avec les données de validation à long terme",
    Level.B_LTA: "horodatée, données de validation et horodatage d'archive",
}
COVERAGES = {
    Coverage.ENTIRE_FILE: "tout le fichier",
    Coverage.ENTIRE_REVISION: "la version signée (des ajouts ont suivi la signature)",
    Coverage.PARTIAL: "partielle : une partie de la version signée n'est pas couverte",
    Coverage.TRAILING_DATA: "des octets ont été ajoutés après la fin du fichier signé",
}
MODIFICATIONS = {
    Modifications.NONE: "aucune",
    Modifications.LTA_UPDATES: "données de validation et horodatages d'archive (admis)",
    Modifications.FORM_FILLING: "remplissage de formulaire ou autres signatures (admis)",
    Modifications.ANNOTATIONS: "annotations (admises si la certification le permet)",
    Modifications.OTHER: "le contenu a été modifié après la signature",
}
REVOCATIONS = {
    RevocationStatus.GOOD: "non révoqué",
    RevocationStatus.REVOKED: "RÉVOQUÉ",
    RevocationStatus.UNKNOWN: "inconnue (aucune donnée de révocation utilisable)",
}
REVOCATION_SOURCES = {
    RevocationSource.EMBEDDED: "données incluses dans le fichier",
    RevocationSource.FETCHED: "données obtenues en ligne",
}
KEY_USAGES = {
    "digital_signature": "signature numérique",
    "non_repudiation": "non-répudiation",
    "key_encipherment": "chiffrement de clé",
    "data_encipherment": "chiffrement de données",
    "key_agreement": "accord de clé",
    "key_cert_sign": "signature de certificats",
    "crl_sign": "signature de listes de révocation",
}


def report_pdf(report: VerificationReport, file_name: str | None = None) -> bytes:
    """The report as an A4 PDF in French; `file_name` names the verified file in it."""
    return render(
        _blocks(report, file_name),
        title=TITLE if file_name is None else f"{TITLE} : {file_name}",
        footer=f"Chaîne · {TITLE} · {_time(report.validation_time)}",
    )


def _blocks(report: VerificationReport, file_name: str | None) -> list[Block]:
    verdict, color = VERDICTS[report.indication]
    blocks: list[Block] = [
        paragraph(TITLE, BOLD, 16, space_after=10),
        row("Fichier", file_name or "non précisé"),
        row("Empreinte SHA-256", report.sha256),
        row("Résultat", f"{verdict} ({report.indication.value})", bold=True, color=color),
        row("Signatures", str(len(report.signatures))),
        row("Politique de validation", report.policy),
        row("Date de la vérification", _time(report.validation_time)),
        paragraph(SUMMARIES[report.indication], REGULAR, 10, space_before=6, space_after=4),
    ]
    total = len(report.signatures)
    for number, signature in enumerate(report.signatures, start=1):
        blocks.extend(_signature_blocks(signature, number, total))
    return blocks


def _signature_blocks(sig: SignatureReport, number: int, total: int) -> list[Block]:
    verdict, color = VERDICTS[sig.indication]
    result = f"{verdict} ({sig.indication.value}"
    if sig.sub_indication is not None:
        result += f", {sig.sub_indication.value}) : {SUB_INDICATIONS[sig.sub_indication]}"
    else:
        result += ")"
    signer = sig.signer
    heading = paragraph(
        f"Signature {number} sur {total} : {sig.name}", BOLD, 12, space_before=14, space_after=4
    )
    blocks: list[Block] = [
        # A heading never ends a page: it goes with the verdict under it.
        heading + row("Résultat", result, bold=True, color=color),
        row("Format", sig.format.value),
        row("Signataire", signer.subject if signer else "inconnu"),
    ]
    if signer is not None:
        usages = ", ".join(KEY_USAGES.get(usage, usage) for usage in signer.key_usage)
        blocks += [
            row("Émetteur du certificat", signer.issuer),
            row("Numéro de série", signer.serial),
            row(
                "Validité du certificat",
                f"du {_time(signer.not_before)} au {_time(signer.not_after)}",
            ),
            row("Usages de la clé", usages or "non précisés"),
        ]
    intact = (
        "données signées intactes, signature cryptographique valide"
        if sig.intact and sig.crypto_valid
        else "données signées intactes, mais signature cryptographique invalide"
        if sig.intact
        else "les données signées ont été modifiées ou sont illisibles"
    )
    revocation = REVOCATIONS[sig.revocation_status]
    if sig.revocation_source in REVOCATION_SOURCES:
        revocation += f" ({REVOCATION_SOURCES[sig.revocation_source]})"
    blocks += [
        row("Heure de signature déclarée", _time(sig.claimed_signing_time, "non déclarée")),
        row("Horodatage", _time(sig.timestamp_time, "aucun horodatage valide")),
        row("Niveau", f"{sig.level.value} : {LEVELS[sig.level]}" if sig.level else "inconnu"),
        row("Intégrité", intact),
        row("Couverture", COVERAGES[sig.coverage] if sig.coverage else "inconnue"),
        row(
            "Modifications après signature",
            MODIFICATIONS[sig.modifications] if sig.modifications else "inconnues",
        ),
        row(
            "Chaîne de confiance",
            *(
                [f"{i}. {subject}" for i, subject in enumerate(sig.trusted_chain, start=1)]
                or ["aucune chaîne vers une autorité de confiance"]
            ),
        ),
        row("Révocation", revocation),
    ]
    if sig.messages:
        blocks.append(row("Messages", *sig.messages, color=GREY))
    return blocks


def _time(moment: datetime | None, missing: str = "inconnue") -> str:
    if moment is None:
        return missing
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(UTC):%d/%m/%Y %H:%M:%S} UTC"
