"""Ask a model server what it is, to send the grammar in the field it reads (`--server-grammar auto`)."""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.request
from typing import Any

# vLLM reads a grammar from `structured_outputs` from this version on (`guided_grammar` was removed).
VLLM_STRUCTURED_OUTPUTS = (0, 12)


def server_root(base_url: str) -> str:
    """The server's address without the API's path (`http://host:8000/v1` -> `http://host:8000`)."""
    return re.sub(r"/v\d+/?$", "", base_url.rstrip("/"))


def _get(url: str, timeout: float) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return json.loads(answer.read())
    except (OSError, ValueError, urllib.error.URLError, http.client.HTTPException):
        return None


def grammar_support(base_url: str, timeout: float = 3.0) -> str:
    """The `GRAMMAR_FIELDS` name of what the server at `base_url` reads a GBNF grammar from, else "none".

    llama.cpp's server answers `GET /props`; vLLM answers `GET /version`; a FastAPI server (such as
    llama-cpp-python's) shows the fields of its chat request in `GET /openapi.json`.
    """
    root = server_root(base_url)
    props = _get(f"{root}/props", timeout)
    if isinstance(props, dict) and ("default_generation_settings" in props or "build_info" in props):
        return "llama.cpp"
    version = _get(f"{root}/version", timeout)
    if isinstance(version, dict) and isinstance(version.get("version"), str):
        numbers = tuple(int(part) for part in re.findall(r"\d+", version["version"])[:2])
        return "vllm" if numbers >= VLLM_STRUCTURED_OUTPUTS else "vllm-legacy"
    return _from_openapi(_get(f"{root}/openapi.json", timeout))


def _from_openapi(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "none"
    for name, component in schema.get("components", {}).get("schemas", {}).items():
        if "chatcompletionrequest" not in name.lower().replace("_", ""):
            continue
        fields = component.get("properties", {}) if isinstance(component, dict) else {}
        for key, support in (
            ("structured_outputs", "vllm"),
            ("grammar", "llama.cpp"),
            ("guided_grammar", "vllm-legacy"),
        ):
            if key in fields:
                return support
    return "none"
