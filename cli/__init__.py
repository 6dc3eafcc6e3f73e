"""The `chaine` command line.

pyHanko imports DSA support, which cryptography 51 deprecates with a warning printed on
every start; operators can do nothing about it, so the commands keep their stderr for
messages that concern them.
"""

import warnings

from cryptography.utils import CryptographyDeprecationWarning

warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning, module=r"pyhanko\.")
