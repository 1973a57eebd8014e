"""Type stubs for pymemtrack._core, the C core."""

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
