"""The JSON Schema of the query language, published as ``Session.query_schema`` and at
``GET /api/query/schema``. It describes the shape; the parser checks names against the models
and says where a query goes wrong."""

from __future__ import annotations

from typing import Any

from labstore.query.jsonquery import FIELD_OPERATORS, TIME_UNITS

_TIME = {
    "type": "object",
    "description": "Now (UTC) plus these amounts; negative is the past",
    "properties": {unit: {"type": "number"} for unit in TIME_UNITS},
    "additionalProperties": False,
    "minProperties": 1,
}
_SCALAR = {"type": ["string", "number", "boolean", "null"]}
_OPERATORS = {
    "type": "object",
    "description": "Operators on one field, all of which must hold",
    "properties": {
        **{
            op: {
                "anyOf": [
                    _SCALAR,
                    {"type": "array", "items": _SCALAR},
                    {
                        "type": "object",
                        "properties": {"__time__": {"$ref": "#/$defs/time"}},
                        "required": ["__time__"],
                        "additionalProperties": False,
                    },
                ]
            }
            for op in FIELD_OPERATORS
        },
        "__not__": {"$ref": "#/$defs/value"},
        "__time__": {"$ref": "#/$defs/time"},
    },
}


def query_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a labstore query."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "labstore:query",
        "title": "labstore JSON query",
        "type": "object",
        "required": ["__model__"],
        "additionalProperties": False,
        "properties": {
            "__model__": {
                "type": "string",
                "minLength": 1,
                "description": "Class name, model name or pack/model",
            },
            "__description__": {"type": "string"},
            "__query__": {"$ref": "#/$defs/conditions"},
            "__options__": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "limit": {"type": "integer", "minimum": 1},
                    "offset": {"type": "integer", "minimum": 0},
                    "order": {
                        "anyOf": [
                            {"type": "string"},
                            {"type": "array", "items": {"type": "string"}},
                        ]
                    },
                    "cursor": {"type": "string"},
                },
            },
            "__return__": {"$ref": "#/$defs/returns"},
            "__json__": {"type": "boolean"},
        },
        "$defs": {
            "time": _TIME,
            "value": {
                "anyOf": [
                    _SCALAR,
                    {"type": "array", "items": _SCALAR},
                    {"$ref": "#/$defs/operators"},
                    {"$ref": "#/$defs/conditions"},
                ]
            },
            "operators": _OPERATORS,
            "conditions": {
                "type": "object",
                "description": "Field, relation or Django-path keys; all must hold",
                "properties": {
                    "__or__": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"$ref": "#/$defs/conditions"},
                    },
                    "__and__": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"$ref": "#/$defs/conditions"},
                    },
                    "__not__": {"$ref": "#/$defs/conditions"},
                    "__query__": {"$ref": "#/$defs/conditions"},
                },
                "additionalProperties": {"$ref": "#/$defs/value"},
            },
            "returns": {
                "anyOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}},
                    {"type": "object", "additionalProperties": {"$ref": "#/$defs/returns"}},
                ]
            },
        },
    }
