"""Base classes of the API's request and response schemas."""

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """A request body: unknown fields are refused, so clients never set server-owned ones."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseModel(BaseModel):
    """A response body, built from records."""

    model_config = ConfigDict(from_attributes=True)
