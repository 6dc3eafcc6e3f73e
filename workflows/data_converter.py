"""The payload converter every Chaîne client and worker uses.

Pydantic's, because workflow and activity messages carry dates, datetimes and decimals,
which Temporal's default JSON converter cannot encode.
"""

from temporalio.contrib.pydantic import pydantic_data_converter

DATA_CONVERTER = pydantic_data_converter
