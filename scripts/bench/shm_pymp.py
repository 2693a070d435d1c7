"""multiprocessing.shared_memory: a child writes every page of a segment, the
parent then reads every page. Usage: shm_pymp.py [MIB]. Prints one JSON line
with the segment's size and name and both PIDs."""
import json
import multiprocessing as mp
import sys
from multiprocessing import shared_memory

PAGE = 4096


def fill(name, size):
    seg = shared_memory.SharedMemory(name=name)
    buf = seg.buf
    for off in range(0, size, PAGE):
        buf[off] = 1
    del buf
    seg.close()


def main():
    size = (int(sys.argv[1]) if len(sys.argv) > 1 else 64) << 20
    seg = shared_memory.SharedMemory(create=True, size=size)
    try:
        child = mp.get_context("fork").Process(target=fill, args=(seg.name, size))
        child.start()
        child.join()
        buf = seg.buf
        total = sum(buf[off] for off in range(0, size, PAGE))
        assert total == size // PAGE, total
        del buf
        print(json.dumps({"bytes": size, "name": seg.name, "parent": mp.current_process().pid,
                          "child": child.pid}))
    finally:
        seg.close()
        seg.unlink()


if __name__ == "__main__":
    main()
