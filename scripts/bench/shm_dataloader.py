"""PyTorch's DataLoader moving batches from worker processes to the main
process through shared memory: each worker builds a batch in a segment of its
own (shm_open in /dev/shm, then unlinked), passes the segment's descriptor
over a unix socket (SCM_RIGHTS) and the main process maps it.

Usage: shm_dataloader.py [BATCHES] [WORKERS]. Prints one JSON line: the
tensor bytes the main process received, as the program itself counts them.
"""
import json
import sys

import torch
from torch.utils.data import DataLoader, Dataset

SHAPE = (3, 128, 128)
BATCH = 16


class Images(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return torch.full(SHAPE, float(i), dtype=torch.float32)


def main():
    batches = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    loader = DataLoader(Images(batches * BATCH), batch_size=BATCH, num_workers=workers)
    received = 0
    count = 0
    for batch in loader:
        # read every element, as a training step would
        received += batch.numel() * batch.element_size()
        count += 1
        assert float(batch.sum()) >= 0
    print(json.dumps({"batches": count, "tensor_bytes": received, "workers": workers}))


if __name__ == "__main__":
    main()
