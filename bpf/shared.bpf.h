// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/*
 * Shared memory: the IPC that never crosses a read or a write. Each shared
 * object a traced process maps (a memfd, a file in /dev/shm, a SysV
 * segment, a MAP_SHARED|MAP_ANONYMOUS mapping, any MAP_SHARED file) is a
 * segment named by its inode; per process and segment `segs` counts what
 * was mapped, the faults on it and the pages those faults brought in.
 * Descriptors carried with SCM_RIGHTS are counted on their channel, and
 * what each was goes into `passes`, so a segment can be followed from the
 * process that made it, over a socket, to the one that mapped it.
 */
#ifndef __IPCPROF_SHARED_BPF_H__
#define __IPCPROF_SHARED_BPF_H__

#include "current.bpf.h"
#include "fdkind.bpf.h"

#define VM_SHARED   0x8
#define VM_MAYSHARE 0x80
#define TMPFS_MAGIC 0x01021994
#define SOL_SOCKET  1
#define SCM_RIGHTS  1
#define SCM_MAX_FD  253 /* the kernel's limit of descriptors in one message */

#define MAX_SEGS	 65536
#define MAX_PASSES	 8192
#define PASS_MAX_CMSGS	 4 /* control messages read per sendmsg/recvmsg */
#define PASS_MAX_RESOLVE 8 /* descriptors per message whose file is named */

/*
 * Pages brought in are read from the RSS counter the fault moved: a read
 * fault on a file or shmem mapping maps up to fault_around_bytes of pages
 * that are already in the page cache, a write fault on shmem may map a
 * whole large folio, so counting faults is not counting bytes. Since 6.2
 * the counters are per-CPU (struct percpu_counter). Their BTF carries no
 * __percpu tag, so bpf_per_cpu_ptr() refuses them, and the per-CPU offsets
 * (__per_cpu_offset, this_cpu_off) are not in kallsyms without
 * CONFIG_KALLSYMS_ALL, so a typed ksym cannot name them either. A per-CPU
 * array of our own tells this CPU's: its raw per-CPU pointer (struct
 * bpf_array's pptrs[0]) plus the offset is where bpf_map_lookup_elem()
 * finds this CPU's value (rss_here). Older kernels (struct mm_rss_stat, whose per-task cache
 * moves without this tracepoint) count one page per not-present fault
 * instead, and the segment says so (SEG_TOUCH_EXACT unset). The layout test
 * is a constant at load, so the verifier drops the other path (and with it
 * a relocation that cannot resolve there).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cpu_offsets SEC(".maps");

/* Before 6.2: one atomic per counter, and a per-task cache beside them. */
struct mm_rss_stat___old {
	long count[4];
};

static __always_inline bool seg_rss_exact(void)
{
	/* a type's existence relocates to a constant where a field's size
	 * of another type would not resolve at all (and fail the load) */
	return !bpf_core_type_exists(struct mm_rss_stat___old);
}

/* A pointer as a number: the verifier allows no arithmetic between a map's
 * address, a map value's and a kernel address read as a number. */
static __always_inline __u64 addr_of(const void *p)
{
	__u64 a = 0;

	bpf_probe_read_kernel(&a, sizeof(a), &p);
	return a;
}

/* Per process: its shared mappings, for the fault path (no VMA walk). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MAX_PROCS);
	__type(key, __u32);
	__type(value, struct seg_ranges);
} seg_ranges SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MAX_SEGS);
	__type(key, struct seg_key);
	__type(value, struct seg_stats);
} segs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MAX_PASSES);
	__type(key, struct pass_key);
	__type(value, __u64);
} passes SEC(".maps");

/* Scratch for a new segs entry and a process's range table. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct seg_ranges);
} zero_ranges SEC(".maps");

__u64 seg_ranges_full = 0; /* shared mappings beyond IPCPROF_SEG_RANGES per process */

/* What bpf_find_vma found at an address: a shared file mapping or not. */
struct seg_found {
	__u64 start, end, size;
	struct seg_key k;
	bool shared;
	bool shmem;
	char name[IPCPROF_SEG_NAME];
};

static long seg_vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct seg_found *f = data;
	struct file *file = BPF_CORE_READ(vma, vm_file);
	struct inode *inode;

	/* a read-only shared mapping of a file opened read-only (shmat with
	 * SHM_RDONLY) keeps only VM_MAYSHARE */
	if (!file || !(BPF_CORE_READ(vma, vm_flags) & (VM_SHARED | VM_MAYSHARE)))
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	f->start = BPF_CORE_READ(vma, vm_start);
	f->end = BPF_CORE_READ(vma, vm_end);
	f->k.ino = BPF_CORE_READ(inode, i_ino);
	f->k.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	f->size = BPF_CORE_READ(inode, i_size);
	f->shmem = BPF_CORE_READ(inode, i_sb, s_magic) == TMPFS_MAGIC;
	bpf_probe_read_kernel_str(f->name, sizeof(f->name),
				  BPF_CORE_READ(file, f_path.dentry, d_name.name));
	f->shared = true;
	return 0;
}

/* The process's entry for a segment, made on first sight. */
static __always_inline struct seg_stats *seg_of(const struct seg_key *k, __u32 flags, __u64 now)
{
	struct seg_stats z = {.first_ns = now, .flags = flags};

	return lookup_or_init(&segs, k, &z);
}

/*
 * The range table is walked by bpf_loop bodies, one slot a call: verified
 * once, where an unrolled 64-slot loop took the fault programs ~0.4 s and
 * the syscall exit ~0.1 s to verify, a start-up cost of every run.
 */
struct range_walk {
	struct seg_ranges *rs;
	__u64 start, end; /* the range in question */
	__u64 ino;	  /* range_claim: what the new range shows */
	__u32 dev;
	__u8 shmem;
	int hit; /* range_find, range_claim: the slot, or -1 */
};

/* The first slot overlapping [start, end). */
static long range_find_slot(__u32 i, void *data)
{
	struct range_walk *w = data;
	struct seg_range *r;

	if (i >= IPCPROF_SEG_RANGES)
		return 1;
	r = &w->rs->r[i];
	if (r->start && r->start < w->end && r->end > w->start) {
		w->hit = (int)i;
		return 1;
	}
	return 0;
}

/* Every slot overlapping [start, end) freed: what was mapped there is
 * gone (munmap of a mapping inherited over fork is not always seen). */
static long range_clear_slot(__u32 i, void *data)
{
	struct range_walk *w = data;
	struct seg_range *r;

	if (i >= IPCPROF_SEG_RANGES)
		return 1;
	r = &w->rs->r[i];
	if (r->start && r->start < w->end && r->end > w->start)
		r->start = 0;
	return 0;
}

/* A free slot takes [start, end). Two threads mapping at once race for a
 * slot by compare-and-swap on its start. */
static long range_claim_slot(__u32 i, void *data)
{
	struct range_walk *w = data;
	struct seg_range *r;

	if (i >= IPCPROF_SEG_RANGES)
		return 1;
	r = &w->rs->r[i];
	if (r->start || __sync_val_compare_and_swap(&r->start, 0, w->start))
		return 0;
	r->end = w->end;
	r->ino = w->ino;
	r->dev = w->dev;
	r->shmem = w->shmem;
	w->hit = (int)i;
	/* raise the high-water mark to i + 1 (another thread may raise it
	 * at once: compare-and-swap, a few tries) */
	for (int k = 0; k < 4; k++) {
		__u32 used = w->rs->used;

		if (used > i || __sync_val_compare_and_swap(&w->rs->used, used, i + 1) == used)
			break;
	}
	return 1;
}

/* munmap(start, end - start) or shmdt(start) (end 0: the mapping that
 * starts there). */
static long range_unmap_slot(__u32 i, void *data)
{
	struct range_walk *w = data;
	struct seg_range *r;

	if (i >= IPCPROF_SEG_RANGES)
		return 1;
	r = &w->rs->r[i];
	if (!r->start)
		return 0;
	if (!w->end) {
		if (r->start == w->start)
			r->start = 0;
	} else if (w->start <= r->start && w->end >= r->end) {
		r->start = 0;
	} else if (w->start <= r->start && w->end > r->start) {
		r->start = w->end; /* its head unmapped */
	} else if (w->start < r->end && w->end >= r->end) {
		r->end = w->start; /* its tail unmapped */
	} else if (w->start > r->start && w->end < r->end) {
		r->end = w->start; /* a hole: its head kept, its tail lost */
	}
	return 0;
}

/* How many slots a walk looks at: those ever taken. */
static __always_inline __u32 slots_used(const struct seg_ranges *rs)
{
	__u32 used = rs->used;

	return used < IPCPROF_SEG_RANGES ? used : IPCPROF_SEG_RANGES;
}

/* The slot of `rs` overlapping [start, end), or -1. */
static __always_inline int range_find(struct seg_ranges *rs, __u64 start, __u64 end)
{
	struct range_walk w = {.rs = rs, .start = start, .end = end, .hit = -1};

	bpf_loop(slots_used(rs), range_find_slot, &w, 0);
	return w.hit;
}

/* Does [addr, addr + len) touch one of the process's shared ranges? */
static __always_inline bool seg_range_overlaps(__u32 tgid, __u64 addr, __u64 len)
{
	struct seg_ranges *rs = bpf_map_lookup_elem(&seg_ranges, &tgid);

	return rs && len && range_find(rs, addr, addr + len) >= 0;
}

/* The process's range table gets the new mapping `f`. */
static __always_inline void seg_range_add(__u32 tgid, const struct seg_found *f)
{
	struct seg_ranges *rs = bpf_map_lookup_elem(&seg_ranges, &tgid), *z;
	struct range_walk w = {.start = f->start,
			       .end = f->end,
			       .ino = f->k.ino,
			       .dev = f->k.dev,
			       .shmem = f->shmem,
			       .hit = -1};
	__u32 zero = 0;

	if (!rs && (z = bpf_map_lookup_elem(&zero_ranges, &zero)))
		rs = lookup_or_init(&seg_ranges, &tgid, z);
	if (!rs)
		return;
	w.rs = rs;
	bpf_loop(slots_used(rs), range_clear_slot, &w, 0);
	bpf_loop(IPCPROF_SEG_RANGES, range_claim_slot, &w, 0);
	if (w.hit < 0)
		__sync_fetch_and_add(&seg_ranges_full, 1);
}

/* munmap(addr, len) or shmdt(addr) (len 0: the mapping starting there). */
static __always_inline void seg_range_remove(__u32 tgid, __u64 addr, __u64 len)
{
	struct range_walk w = {.start = addr, .end = len ? addr + len : 0};

	w.rs = bpf_map_lookup_elem(&seg_ranges, &tgid);
	if (w.rs)
		bpf_loop(slots_used(w.rs), range_unmap_slot, &w, 0);
}

/*
 * A successful mmap(MAP_SHARED), shmat or mremap: which object the new
 * mapping at `addr` shows, from its VMA (a MAP_SHARED|MAP_ANONYMOUS or
 * SysV mapping has no descriptor to name it by). `counted`: a new mapping
 * (mremap only moves one); `site`: the Python line that made the call. From
 * the syscall's exit, where interrupts are on: bpf_find_vma() then unlocks
 * at once, no irq_work.
 */
static __always_inline __u64 seg_mapped(__u32 tgid, __u64 addr, __u64 len, __u64 dur, bool counted,
					__u32 site)
{
	struct seg_found f = {};
	struct seg_stats *s;
	__u64 now = bpf_ktime_get_ns();

	if (bpf_find_vma(bpf_get_current_task_btf(), addr, seg_vma_cb, &f, 0) || !f.shared)
		return len;
	f.k.tgid = tgid;
	seg_range_add(tgid, &f);
	if (!len)
		len = f.end - f.start;
	if (!counted)
		return len;
	s = seg_of(&f.k, SEG_MAPPED, now);
	if (!s)
		return len;
	__sync_fetch_and_or(&s->flags, SEG_MAPPED | (f.shmem ? SEG_SHMEM : 0));
	s->size = f.size;
	__sync_fetch_and_add(&s->maps, 1);
	__sync_fetch_and_add(&s->bytes_mapped, len);
	__sync_fetch_and_add(&s->map_ns, dur);
	if (!s->name[0])
		__builtin_memcpy(s->name, f.name, sizeof(s->name));
	if (!s->map_site)
		s->map_site = site;
	return len;
}

__u64 cpu_base = 0; /* cpu_offsets' raw per-CPU pointer (pptrs[0]), read once */

/*
 * An mm's RSS counter as this CPU sees it: the central count plus this
 * CPU's share. percpu_counter_add() on this CPU moves exactly this sum by
 * the amount it adds (folding the share into the count moves nothing), and
 * the page tables' lock keeps the add and its rss_stat event on one CPU:
 * read at a fault's entry and again at the event, on the same CPU, the
 * difference is the pages the fault mapped. Reading every CPU's share
 * instead cost ~2x per fault (two helper calls a CPU).
 */
static __always_inline __s64 rss_here(struct mm_struct *mm, bool shmem)
{
	struct percpu_counter *pc;
	__u64 base = cpu_base;
	__u32 zero = 0;
	void *mine;
	__s32 v = 0;

	if (!seg_rss_exact() || !mm)
		return 0;
	mine = bpf_map_lookup_elem(&cpu_offsets, &zero); /* this CPU's copy */
	if (!mine)
		return 0;
	if (!base) {
		bpf_probe_read_kernel(&base, sizeof(base),
				      (void *)(addr_of(&cpu_offsets) +
					       bpf_core_field_offset(struct bpf_array, pptrs)));
		cpu_base = base;
	}
	pc = shmem ? __builtin_preserve_access_index(&mm->rss_stat[MM_SHMEMPAGES])
		   : __builtin_preserve_access_index(&mm->rss_stat[MM_FILEPAGES]);
	/* mm is a trusted pointer (a tp_btf argument, the current task's):
	 * its counter is read directly, this CPU's share through the offset */
	bpf_probe_read_kernel(&v, sizeof(v),
			      (void *)(addr_of(pc->counters) + addr_of(mine) - base));
	return pc->count + v;
}

/*
 * A page fault of a traced thread at `address`: on one of its process's
 * shared mappings? Then count it on the segment and remember the segment
 * and its RSS counter, so that the counter's move during this fault
 * (handle_rss_stat) can say how many pages it brought in. Returns whether
 * it was on a shared mapping.
 */
static __always_inline bool seg_fault(struct thread_state *t, __u64 address,
				      unsigned long error_code)
{
	struct seg_ranges *rs = bpf_map_lookup_elem(&seg_ranges, &t->tgid);
	struct seg_range *hit = NULL;
	struct seg_stats *s;
	__u32 kind;
	__u64 now;
	int slot;

	t->fault_seg.tgid = 0;
	if (!rs)
		return false;
	slot = range_find(rs, address, address + 1);
	if (slot < 0 || slot >= IPCPROF_SEG_RANGES)
		return false;
	hit = &rs->r[slot];
	t->fault_seg.ino = hit->ino;
	t->fault_seg.dev = hit->dev;
	t->fault_seg.tgid = t->tgid;
	now = bpf_ktime_get_ns();
	/* not mapped here while traced: inherited over fork (or mapped
	 * before an attach) */
	s = seg_of(&t->fault_seg, SEG_INHERITED | (hit->shmem ? SEG_SHMEM : 0), now);
	if (!s) {
		t->fault_seg.tgid = 0;
		return true;
	}
	/* bit 1 of the error code: a write; bit 0: the page was present */
	kind = !(error_code & 2) ? SF_READ : (error_code & 1) ? SF_WP : SF_WRITE;
	if (kind < SF_COUNT)
		__sync_fetch_and_add(&s->faults[kind], 1);
	s->last_ns = now;
	t->fault_member = hit->shmem;
	if (seg_rss_exact()) {
		struct task_struct *task = bpf_get_current_task_btf();

		t->fault_cpu = bpf_get_smp_processor_id();
		t->fault_rss = rss_here(task->mm, hit->shmem);
		if (!(s->flags & SEG_TOUCH_EXACT))
			__sync_fetch_and_or(&s->flags, SEG_TOUCH_EXACT);
	} else if (kind != SF_WP) {
		__sync_fetch_and_add(&s->pages_touched, 1);
	}
	return true;
}

/*
 * The mm's RSS counter moved (add_mm_counter and friends): inside a fault
 * on a shared segment, that is the pages the fault mapped, fault-around
 * included. Every mm counter change on the machine passes here: leave at
 * the first test for all others.
 */
SEC("tp_btf/rss_stat")
int BPF_PROG(handle_rss_stat, struct mm_struct *mm, int member)
{
	struct task_struct *task;
	struct thread_state *t;
	struct seg_stats *s;
	__s64 now, delta;
	__u32 cpu;

	if (!seg_rss_exact() || (member != MM_FILEPAGES && member != MM_SHMEMPAGES))
		return 0;
	t = current_thread();
	if (!t || !t->fault_seg.tgid || (member == MM_SHMEMPAGES) != !!t->fault_member)
		return 0;
	task = bpf_get_current_task_btf();
	if (task->mm != mm)
		return 0;
	s = bpf_map_lookup_elem(&segs, &t->fault_seg);
	cpu = bpf_get_smp_processor_id();
	now = rss_here(mm, t->fault_member);
	if (cpu != t->fault_cpu) {
		/* the fault slept and moved: its pages went to another
		 * CPU's share; count one and say the total is not exact */
		t->fault_cpu = cpu;
		t->fault_rss = now;
		if (s) {
			__sync_fetch_and_add(&s->pages_touched, 1);
			__sync_fetch_and_or(&s->flags, SEG_TOUCH_MIGRATED);
		}
		return 0;
	}
	delta = now - t->fault_rss;
	t->fault_rss = now;
	if (delta > 0 && s)
		__sync_fetch_and_add(&s->pages_touched, delta);
	return 0;
}

struct pass_walk {
	struct task_struct *task;
	__u64 ctl, ctl_len; /* the control buffer (user memory) */
	__u64 off;	    /* where the next message starts in it */
	__u64 fds;	    /* the current message's descriptors */
	__u64 total;	    /* descriptors counted */
	struct pass_key key;
};

/* Descriptor i of the message: the file it names, counted on the channel
 * (a bpf_loop body, as the range walks are). */
static long pass_one_fd(__u32 i, void *data)
{
	struct pass_walk *p = data;
	struct inode *inode;
	struct file *file;
	__u64 zero = 0, *cnt;
	__s32 fd = -1;

	bpf_probe_read_user(&fd, sizeof(fd), (void *)(p->fds + (__u64)i * sizeof(fd)));
	file = task_fd_to_file(p->task, fd);
	if (!file)
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	p->key.ino = BPF_CORE_READ(inode, i_ino);
	p->key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	/* from 0 and added to: two threads passing the same file at once
	 * both count */
	cnt = lookup_or_init(&passes, &p->key, &zero);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	return 0;
}

/* One control message: SCM_RIGHTS descriptors are counted and named
 * (a bpf_loop body: unrolled, four messages of eight descriptors took the
 * syscall exit ~40 ms to verify). */
static long pass_one_cmsg(__u32 m, void *data)
{
	struct pass_walk *p = data;
	struct {
		__u64 len;
		__s32 level;
		__s32 type;
	} h = {};
	__u64 n;

	/* re-read from user memory the program may have changed since the
	 * kernel checked it: every length within the buffer */
	if (p->off + sizeof(h) > p->ctl_len ||
	    bpf_probe_read_user(&h, sizeof(h), (void *)(p->ctl + p->off)) || h.len < sizeof(h) ||
	    h.len > p->ctl_len - p->off)
		return 1;
	if (h.level == SOL_SOCKET && h.type == SCM_RIGHTS) {
		n = (h.len - sizeof(h)) / sizeof(__s32);
		if (n > SCM_MAX_FD)
			n = SCM_MAX_FD;
		p->total += n;
		p->fds = p->ctl + p->off + sizeof(h);
		bpf_loop(n < PASS_MAX_RESOLVE ? n : PASS_MAX_RESOLVE, pass_one_fd, p, 0);
	}
	p->off += (h.len + 7) & ~7ull; /* CMSG_ALIGN */
	return 0;
}

/* Count what a sendmsg/recvmsg carried in SCM_RIGHTS control messages,
 * naming each passed file (the sender's descriptors before the call, the
 * receiver's new ones after it). Returns the number of descriptors. */
static __always_inline __u64 count_passed(struct thread_state *t, __u64 chan, __u32 tgid)
{
	struct user_msghdr *msg = (struct user_msghdr *)t->arg0;
	struct pass_walk p = {.task = (struct task_struct *)bpf_get_current_task()};

	p.key.chan_ino = chan;
	p.key.tgid = tgid;
	p.key.dir = t->dir;
	bpf_probe_read_user(&p.ctl, sizeof(p.ctl), &msg->msg_control);
	bpf_probe_read_user(&p.ctl_len, sizeof(p.ctl_len), &msg->msg_controllen);
	if (!p.ctl || p.ctl_len < 16)
		return 0;
	bpf_loop(PASS_MAX_CMSGS, pass_one_cmsg, &p, 0);
	return p.total;
}

/* A new process shares its parent's shared mappings (MAP_SHARED survives
 * fork): it starts with a copy of the parent's table. */
static __always_inline void seg_fork(__u32 parent_tgid, __u32 tgid)
{
	struct seg_ranges *rs = bpf_map_lookup_elem(&seg_ranges, &parent_tgid);

	if (rs && bpf_map_update_elem(&seg_ranges, &tgid, rs, BPF_ANY))
		__sync_fetch_and_add(&map_full, 1);
}

#endif /* __IPCPROF_SHARED_BPF_H__ */
