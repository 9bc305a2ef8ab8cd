"""The base of siyu's pydantic models."""

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """A pydantic model whose validator and serializer are built on first use, not when its
    module is imported: every function imports the domain it may need, but an instance
    builds only the models its own requests use (a cold start's import stays short)."""

    model_config = ConfigDict(defer_build=True)
