// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/*
 * Python call sites: the frames of the CPython thread that makes an IPC
 * call or enters the serializer (see struct py_stack in ipcprof.h).
 *
 * The thread state is found by its native thread id in the interpreter's
 * list of threads, not through the GIL holder: a blocking syscall releases
 * the GIL first, but its thread's frames stay as they were. Everything is
 * read from user memory with bpf_probe_read_user, at offsets userspace
 * chose for the interpreter's version; a read that fails ends the walk
 * (the stack is then shorter, never wrong).
 */
#ifndef __IPCPROF_PYFRAMES_BPF_H__
#define __IPCPROF_PYFRAMES_BPF_H__

#include "maps.bpf.h"

/* Threads of one interpreter searched for the current one. */
#define PY_MAX_THREADS 32
/* Bytes of a frame read at once (a power of two); the fields the walk
 * needs must lie within it, 8-byte aligned. */
#define FRAME_SPAN 64

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct py_proc);
} py_procs SEC(".maps");

/* stack -> site index */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, IPCPROF_MAX_SITES);
	__type(key, struct py_stack);
	__type(value, __u32);
} py_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IPCPROF_MAX_SITES);
	__type(key, __u32);
	__type(value, struct site_stats);
} sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, IPCPROF_MAX_SITES);
	__type(key, struct py_code_key);
	__type(value, struct py_code);
} py_codes SEC(".maps");

/* The stack being built and a code object being copied (too big for the
 * BPF stack). */
struct py_scratch {
	struct py_stack stack;
	struct py_code code;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct py_scratch);
} py_scratch SEC(".maps");

__u32 py_next_site = 0; /* site indices handed out */
__u64 py_sites_full = 0;

static __always_inline __u64 read_ptr(__u64 addr)
{
	__u64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}

/* A str object's text when it is compact ASCII (file and function names
 * nearly always are), else "?". */
static __always_inline void read_str(char *dst, __u64 obj, const struct py_offsets *o)
{
	__u8 state = 0;

	dst[0] = '?';
	dst[1] = '\0';
	if (!obj || bpf_probe_read_user(&state, 1, (void *)(obj + o->str_state)))
		return;
	/* state: interned:2, kind:3, compact:1, ascii:1 (3.11) */
	if (!(state & (1 << 5)) || !(state & (1 << 6)))
		return;
	bpf_probe_read_user_str(dst, IPCPROF_PY_STR, (void *)(obj + o->str_ascii_data));
}

/* Copy a code object out the first time this process shows it. */
static __always_inline void intern_code(__u32 tgid, __u64 code, const struct py_offsets *o,
					struct py_code *c)
{
	struct py_code_key key = {.tgid = tgid, .code = code};
	__u64 table;
	__s64 size = 0;
	__u32 n;

	if (bpf_map_lookup_elem(&py_codes, &key))
		return;
	read_str(c->filename, read_ptr(code + o->code_filename), o);
	read_str(c->qualname, read_ptr(code + o->code_qualname), o);
	c->firstlineno = 0;
	bpf_probe_read_user(&c->firstlineno, sizeof(c->firstlineno),
			    (void *)(code + o->code_firstlineno));
	table = read_ptr(code + o->code_linetable);
	if (table)
		bpf_probe_read_user(&size, sizeof(size), (void *)(table + o->bytes_size));
	n = size > IPCPROF_PY_LINETABLE ? IPCPROF_PY_LINETABLE : size > 0 ? (__u32)size : 0;
	c->linetable_len = 0;
	barrier_var(n);
	if (n && n <= IPCPROF_PY_LINETABLE &&
	    !bpf_probe_read_user(c->linetable, n, (void *)(table + o->bytes_data)))
		c->linetable_len = n;
	/* -EEXIST: another CPU copied it meanwhile; a full map: counted */
	if (bpf_map_update_elem(&py_codes, &key, c, BPF_NOEXIST) == -7 /* E2BIG */)
		__sync_fetch_and_add(&py_sites_full, 1);
}

/*
 * The three walks below (threads, frames, code objects) are bpf_loop
 * bodies: the verifier checks each body once instead of once per
 * iteration. Unrolled, they made every program calling py_site() take
 * ~35 ms to load (three of them: ~100 ms of ipcprof's start-up); with
 * bpf_loop, ~8 ms.
 */
struct tstate_walk {
	__u64 ts;	  /* in: the list head; out: the thread's state or 0 */
	__u64 off_native; /* PyThreadState.native_thread_id */
	__u64 off_next;	  /* PyThreadState.next */
	__u32 tid;
	__u32 found;
};

static long tstate_step(__u32 i, void *ctx)
{
	struct tstate_walk *w = ctx;
	__u64 native = 0;

	if (!w->ts)
		return 1;
	bpf_probe_read_user(&native, sizeof(native), (void *)(w->ts + w->off_native));
	if (native == w->tid) {
		w->found = 1;
		return 1;
	}
	w->ts = read_ptr(w->ts + w->off_next);
	return 0;
}

/* The PyThreadState of thread `tid`, or 0. */
static __always_inline __u64 find_tstate(const struct py_proc *pp, __u32 tid)
{
	const struct py_offsets *o = &pp->off;
	__u64 interp = read_ptr(pp->runtime + o->runtime_interp_head);
	struct tstate_walk w = {
	    .ts = interp ? read_ptr(interp + o->interp_threads_head) : 0,
	    .off_native = o->ts_native_tid,
	    .off_next = o->ts_next,
	    .tid = tid,
	};

	bpf_loop(PY_MAX_THREADS, tstate_step, &w, 0);
	return w.found ? w.ts : 0;
}

struct frame_walk {
	__u64 frame;			      /* the next frame to read, 0: done */
	__u64 lo;			      /* where the span read from each frame starts */
	__u64 code_at, previous_at, instr_at; /* 8-byte slots in the span */
	__u64 code_adaptive;		      /* offset of the bytecode in a code object */
	struct py_scratch *s;
	int depth;
};

static long frame_step(__u32 i, void *ctx)
{
	struct frame_walk *w = ctx;
	__u64 span[FRAME_SPAN / 8], code, instr;

	if (!w->frame || i >= IPCPROF_PY_DEPTH)
		return 1;
	if (bpf_probe_read_user(span, sizeof(span), (void *)(w->frame + w->lo)))
		return 1;
	code = span[w->code_at & (FRAME_SPAN / 8 - 1)];
	instr = span[w->instr_at & (FRAME_SPAN / 8 - 1)];
	if (!code)
		return 1;
	w->s->stack.f[i].code = code;
	if (instr >= code + w->code_adaptive)
		w->s->stack.f[i].instr = (__u32)((instr - code - w->code_adaptive) / 2);
	w->depth = (int)i + 1;
	w->frame = span[w->previous_at & (FRAME_SPAN / 8 - 1)];
	return 0;
}

struct intern_walk {
	__u32 tgid;
	int depth;
	struct py_scratch *s;
	const struct py_offsets *o;
};

static long intern_step(__u32 i, void *ctx)
{
	struct intern_walk *w = ctx;

	if ((int)i >= w->depth || i >= IPCPROF_PY_DEPTH)
		return 1;
	intern_code(w->tgid, w->s->stack.f[i].code, w->o, &w->s->code);
	return 0;
}

/*
 * The call site of the current thread of a traced CPython process: its
 * site index + 1, or 0 (not Python, not started yet, table full). A global
 * function: the verifier checks it once, not at every caller.
 */
__noinline __u32 py_site(__u32 tgid)
{
	__u64 id = bpf_get_current_pid_tgid(), ts;
	struct frame_walk fw = {};
	struct intern_walk iw = {};
	struct py_scratch *s;
	const struct py_offsets *o;
	struct py_proc *pp;
	__u32 zero = 0, *idx, next, lo;

	pp = bpf_map_lookup_elem(&py_procs, &tgid);
	if (!pp)
		return 0;
	o = &pp->off;
	ts = find_tstate(pp, (__u32)id);
	if (!ts)
		return 0;
	s = bpf_map_lookup_elem(&py_scratch, &zero);
	if (!s)
		return 0;
	__builtin_memset(&s->stack, 0, sizeof(s->stack));
	s->stack.tgid = tgid;
	/* one read per frame: the span holding f_code, previous and
	 * prev_instr (32 bytes in 3.11), instead of three */
	lo = o->frame_code < o->frame_previous ? o->frame_code : o->frame_previous;
	lo = lo < o->frame_prev_instr ? lo : o->frame_prev_instr;
	if (o->frame_code - lo > FRAME_SPAN - 8 || o->frame_previous - lo > FRAME_SPAN - 8 ||
	    o->frame_prev_instr - lo > FRAME_SPAN - 8)
		return 0;
	fw.frame = read_ptr(read_ptr(ts + o->ts_cframe) + o->cframe_current);
	fw.lo = lo;
	fw.code_at = (o->frame_code - lo) / 8;
	fw.previous_at = (o->frame_previous - lo) / 8;
	fw.instr_at = (o->frame_prev_instr - lo) / 8;
	fw.code_adaptive = o->code_adaptive;
	fw.s = s;
	bpf_loop(IPCPROF_PY_DEPTH, frame_step, &fw, 0);
	if (!fw.depth)
		return 0;
	s->stack.depth = fw.depth;
	/* the common case: a stack seen before, its code objects copied then */
	idx = bpf_map_lookup_elem(&py_stacks, &s->stack);
	if (idx)
		return *idx + 1;
	iw.tgid = tgid;
	iw.depth = fw.depth;
	iw.s = s;
	iw.o = o;
	bpf_loop(IPCPROF_PY_DEPTH, intern_step, &iw, 0);
	next = __sync_fetch_and_add(&py_next_site, 1);
	if (next >= IPCPROF_MAX_SITES) {
		__sync_fetch_and_add(&py_sites_full, 1);
		return 0;
	}
	/* another CPU may have added the same stack meanwhile: its index
	 * wins, ours stays unused (userspace skips indices without a stack) */
	bpf_map_update_elem(&py_stacks, &s->stack, &next, BPF_NOEXIST);
	idx = bpf_map_lookup_elem(&py_stacks, &s->stack);
	return idx ? *idx + 1 : 0;
}

/*
 * multiprocessing.Queue.put() only appends the object to a buffer; the
 * queue's feeder thread pickles and writes it later, with a stack that has
 * no user frame. To book that work on the caller of put(), the put is
 * caught where it enters SemLock.acquire (self._sem.acquire(), always its
 * first C call): the object's address and the caller's site go here, and
 * the feeder's serializer entry, which receives the same object, takes
 * them out.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct py_handoff_key);
	__type(value, __u32);
} py_handoffs SEC(".maps");

/* code object -> is it Queue.put (1) or not (0), decided once */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct py_code_key);
	__type(value, __u8);
} py_put_codes SEC(".maps");

#define QUEUES_PY "multiprocessing/queues.py"

static __always_inline bool ends_with_queues_py(const char *s)
{
	const char suffix[] = QUEUES_PY;
	int len = 0, start;

	for (int i = 0; i < IPCPROF_PY_STR; i++) {
		if (!s[i])
			break;
		len = i + 1;
	}
	start = len - (int)(sizeof(suffix) - 1);
	if (start < 0)
		return false;
	for (int i = 0; i < (int)sizeof(suffix) - 1; i++) {
		int k = start + i;

		if (k < 0 || k >= IPCPROF_PY_STR || s[k] != suffix[i])
			return false;
	}
	return true;
}

static __always_inline bool is_queue_put(__u32 tgid, __u64 code, const struct py_offsets *o,
					 struct py_code *c)
{
	struct py_code_key key = {.tgid = tgid, .code = code};
	__u8 *known = bpf_map_lookup_elem(&py_put_codes, &key), yes;

	if (known)
		return *known;
	read_str(c->qualname, read_ptr(code + o->code_qualname), o);
	read_str(c->filename, read_ptr(code + o->code_filename), o);
	yes = (!bpf_strncmp(c->qualname, IPCPROF_PY_STR, "Queue.put") ||
	       !bpf_strncmp(c->qualname, IPCPROF_PY_STR, "JoinableQueue.put")) &&
	      ends_with_queues_py(c->filename);
	bpf_map_update_elem(&py_put_codes, &key, &yes, BPF_ANY);
	return yes;
}

/* At SemLock.acquire: when Queue.put called it, note its object and site. */
__noinline int py_queue_put(__u32 tgid)
{
	struct py_handoff_key key = {.tgid = tgid};
	__u64 id = bpf_get_current_pid_tgid(), frame, code, ts;
	const struct py_offsets *o;
	struct py_scratch *s;
	struct py_proc *pp;
	__u32 zero = 0, site;

	pp = bpf_map_lookup_elem(&py_procs, &tgid);
	if (!pp)
		return 0;
	o = &pp->off;
	ts = find_tstate(pp, (__u32)id);
	s = bpf_map_lookup_elem(&py_scratch, &zero);
	if (!ts || !s)
		return 0;
	frame = read_ptr(read_ptr(ts + o->ts_cframe) + o->cframe_current);
	code = frame ? read_ptr(frame + o->frame_code) : 0;
	if (!code || !is_queue_put(tgid, code, o, &s->code))
		return 0;
	/* put(self, obj, ...): obj is the second local */
	key.obj = read_ptr(frame + o->frame_localsplus + 8);
	site = key.obj ? py_site(tgid) : 0;
	if (site)
		bpf_map_update_elem(&py_handoffs, &key, &site, BPF_ANY);
	return 0;
}

/* At a serializer's entry with `obj`: the site of the Queue.put() that
 * handed it over, or 0. */
static __always_inline __u32 py_take_handoff(__u32 tgid, __u64 obj)
{
	struct py_handoff_key key = {.tgid = tgid, .obj = obj};
	__u32 *site = bpf_map_lookup_elem(&py_handoffs, &key), v;

	if (!site)
		return 0;
	v = *site;
	bpf_map_delete_elem(&py_handoffs, &key);
	return v;
}

static __always_inline struct site_stats *site_stats_of(__u32 site)
{
	__u32 i = site - 1;

	return site ? bpf_map_lookup_elem(&sites, &i) : NULL;
}

#endif /* __IPCPROF_PYFRAMES_BPF_H__ */
