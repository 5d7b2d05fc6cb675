"""Dependencies and the response helper shared by the routers.

Each request costs one hop to the threadpool, not one per dependency: the dependencies
here are `async` and do no I/O (they hand out the settings and the sessionmaker), and a
route opens its session, queries and serializes in its one synchronous body. Routes
return the JSON bytes pydantic makes from the response model, which spares FastAPI a
second threadpool hop to validate a returned dict.
"""

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings


async def get_sessions(request: Request) -> sessionmaker[Session]:
    """The app's sessionmaker: `with sessions() as session:` in the route's thread."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    return factory


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def json_response(model: BaseModel, headers: Mapping[str, str] | None = None) -> Response:
    return Response(model.model_dump_json(), media_type="application/json", headers=headers)
