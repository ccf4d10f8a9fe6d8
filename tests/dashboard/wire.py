"""What the Flutter client does on the wire: registers, and keeps its copy of the page by
applying the server's patches (shared by the in-process test browser and
bench/dashboard_client.py)."""

from __future__ import annotations

from typing import Any

Control = dict[str, Any]
REPLACE, ADD, REMOVE, MOVE = 0, 1, 2, 3


def apply_patch(target: Control, patch: list[Any]) -> None:
    """Apply one PatchControlBody.patch: `[path table, *ops]` relative to `target`."""
    table, *ops = patch
    paths: dict[int, list[Any]] = {}

    def index(node: list[Any], path: list[Any]) -> None:
        paths[node[0]] = path
        if len(node) > 1:
            for key, child in node[1].items():
                index(child, [*path, key])

    index(table, [])

    def at(node_id: int) -> Any:
        obj: Any = target
        for part in paths[node_id]:
            obj = obj[part]
        return obj

    for op in ops:
        kind = op[0]
        if kind == MOVE:
            _, src_node, src_key, dst_node, dst_key = op
            value = at(src_node).pop(src_key)
            dst = at(dst_node)
            if isinstance(dst, list):
                dst.insert(dst_key, value)
            else:
                dst[dst_key] = value
            continue
        container, key = at(op[1]), op[2]
        if kind == REPLACE:
            container[key] = op[3]
        elif kind == ADD:
            if isinstance(container, list):
                container.insert(key, op[3])
            else:
                container[key] = op[3]
        elif kind == REMOVE:
            container.pop(key)
        else:
            raise AssertionError(f"unknown patch operation {op!r}")


def register_request(route: str, session_id: str = "", page_name: str = "dashboard") -> dict:
    """What the Flutter web client sends first (FletBackend._registerClient)."""
    return {
        "session_id": session_id,
        "page_name": page_name,
        "page": {
            "route": route,
            "pwa": False,
            "web": True,
            "debug": False,
            "wasm": True,
            "multi_view": False,
            "platform_brightness": "light",
            "width": 1280.0,
            "height": 800.0,
            "platform": "linux",
        },
    }
