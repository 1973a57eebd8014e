"""Type stubs for pymemtrack._core, the C core."""

from types import FrameType
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

def typestats(
    objects: Optional[Iterable[Any]] = None,
    shortnames: object = True,
    filter: Optional[Callable[[Any], object]] = None,
) -> Dict[str, int]: ...
def count(typename: str, objects: Optional[Iterable[Any]] = None) -> int: ...
def by_type(typename: str, objects: Optional[Iterable[Any]] = None) -> List[Any]: ...
def at(addr: int) -> Any: ...
def at_addrs(address_set: Iterable[int]) -> List[Any]: ...
def find_chain(
    obj: Any,
    predicate: Optional[Callable[[Any], object]],
    max_depth: int,
    extra_ignore: Optional[Iterable[int]] = None,
    backrefs: object = True,
    stop_ids: Optional[Iterable[int]] = None,
) -> List[Any]: ...
def ref_graph(
    objs: List[Any],
    backrefs: object,
    max_depth: int,
    extra_ignore: Optional[Iterable[int]] = None,
    filter: Optional[Callable[[Any], object]] = None,
    too_many: int = 10,
    cull_ids: Optional[Iterable[int]] = None,
) -> List[Tuple[Any, int, Optional[List[Any]], int]]: ...
def retention_paths(
    obj: Any,
    root_ids: Optional[Iterable[int]] = None,
    extra_ignore: Optional[Iterable[int]] = None,
    skip_direct_ids: Optional[Iterable[int]] = None,
    limit: int = 1,
) -> Tuple[int, int, List[Tuple[str, List[Any]]]]: ...
def leaking_objects(objects: Optional[Iterable[Any]]) -> List[Any]: ...
def refindex_info() -> Dict[str, int]: ...
def object_traceback(obj: Any) -> Optional[Tuple[Tuple[str, int], ...]]: ...
def frame_locals(frame: FrameType) -> Dict[str, Any]: ...
def frame_snapshot(frame: FrameType) -> Optional[Dict[str, Any]]: ...
def garbage_cycles(
    holder: Any = None,
) -> Tuple[
    List[Any],                              # objects, group after group
    List[Tuple[int, int, bool, int]],       # (loop size, objects, is loop, owned) per group
    bytes,                                  # flags per object
    List[Any],                              # owned non-GC objects, group after group
    List[Tuple[type, type]],                # (traverser type, referent type) with negative counts
    Tuple[int, int, int],                   # (GC objects, side bytes peak, negative counts)
]: ...
def _cycles_fail_after(n: int) -> None: ...
def memory_stats() -> Tuple[Optional[int], Optional[int], Optional[int], Optional[int], Optional[int], Optional[int]]: ...
def malloc_trim() -> Optional[bool]: ...

def getsizeof(obj: object) -> int: ...
def type_sizes(
    deep: object = False,
    ignore: Optional[Tuple[Any, ...]] = None,
    skip_stack: object = False,
    reference: Optional["HeapReference"] = None,
    sizes: object = True,
    owners: object = False,
) -> List[Tuple[Any, ...]]: ...

_Row = Tuple[Optional[str], str, int, int]

class Snapshot:
    total_count: int
    total_size: int
    frozen: int
    timestamp: float
    sizes: bool
    deep: bool
    def __init__(self, *, sizes: bool = False, deep: bool = False) -> None: ...
    def __len__(self) -> int: ...
    def _rows(self) -> List[_Row]: ...
    def _diff(self, old: "Snapshot") -> List[Tuple[Optional[str], str, int, int, int, int]]: ...
    @classmethod
    def _from_rows(
        cls, rows: Iterable[_Row], *, sizes: object = True, deep: object = False,
        relative: object = False, keyed: object = True, start: int = 0,
    ) -> "Snapshot": ...

class Partition:
    count: int
    size: int
    timestamp: float
    deep: bool
    relative: bool
    start: int
    def __len__(self) -> int: ...
    def _rows(self) -> List[_Row]: ...
    @classmethod
    def _from_rows(
        cls, rows: Iterable[_Row], *, sizes: object = True, deep: object = False,
        relative: object = False, keyed: object = True, start: int = 0,
    ) -> "Partition": ...

class HeapReference:
    deep: bool
    timestamp: float
    nbytes: int
    def __init__(self, *, deep: bool = True, ignore: Optional[Tuple[Any, ...]] = None,
                 skip_stack: bool = False) -> None: ...
    def __len__(self) -> int: ...

class IdMap:
    def __init__(self, shortnames: bool = True) -> None: ...
    def __len__(self) -> int: ...
    def diff(self, old: Optional["IdMap"]) -> List[Tuple[str, int, int, Set[int]]]: ...

# Test-only (pymemtrack/_core/rawmem.c): fault injection and raw block count.
def _fail_after(n: Optional[int]) -> int: ...
def _raw_blocks() -> int: ...
