"""A partial index's WHERE, declared once for both engines.

The models keep the condition in the index's ``info`` (``Index(..., info={WHERE: "..."})``)
and it is given to the engine's own option (``sqlite_where``, ``postgresql_where``) as the
index's DDL is compiled for that engine. Given as those options in the models, it would make
SQLAlchemy import each engine's dialect to check them as the models are declared: the
PostgreSQL dialect with all its drivers in every command on SQLite, and SQLite's on
PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateIndex
from sqlalchemy.sql.compiler import DDLCompiler

WHERE = "where"
ENGINES = ("sqlite", "postgresql")


@compiles(CreateIndex)
def _create_index(create: CreateIndex, compiler: DDLCompiler, **kw: Any) -> str:
    index = create.element
    where = index.info.get(WHERE)
    if where is not None and compiler.dialect.name in ENGINES:
        index.dialect_options[compiler.dialect.name]["where"] = text(where)
    return compiler.visit_create_index(create, **kw)


__all__ = ["WHERE"]
