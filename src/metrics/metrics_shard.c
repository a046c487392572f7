/* Per-thread slots: id allocation, thread registration and exit folding. */
#include "metrics/metrics_shard.h"

#include <pthread.h>
#include <string.h>
#include <vitte/common.h>

#include "common/alloc.h"

__thread struct vitte__tls *vitte__tls_cur __attribute__((tls_model("initial-exec")));

struct id_info {
    int kind;
    void *owner;
    vitte__shard_fold_fn fold;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct vitte__tls *threads;                                 /* live tables */
static _Atomic(_Atomic uint64_t *) base_pages[VITTE__SHARD_PAGES]; /* counters' folded counts */
static struct id_info *id_pages[VITTE__SHARD_PAGES];               /* kind and owner of each id */
static uint32_t next_id = 1; /* id 0 is never used, so a zeroed handle is invalid */
static uint32_t *free_ids;
static size_t n_free_ids, cap_free_ids;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;

static void fork_prepare(void)
{
    pthread_mutex_lock(&lock);
}

static void fork_release(void)
{
    pthread_mutex_unlock(&lock);
}

static void thread_exit(void *arg);

static void init_once(void)
{
    pthread_key_create(&exit_key, thread_exit);
    pthread_atfork(fork_prepare, fork_release, fork_release);
}

void vitte__shard_lock(void)
{
    pthread_mutex_lock(&lock);
}

void vitte__shard_unlock(void)
{
    pthread_mutex_unlock(&lock);
}

static struct id_info *info_of(uint32_t id)
{
    struct id_info *pg = id_pages[id >> VITTE__SHARD_PAGE_BITS];
    return pg != NULL ? &pg[id & (VITTE__SHARD_PAGE - 1)] : NULL;
}

_Atomic uint64_t *vitte__shard_base(uint32_t id)
{
    _Atomic uint64_t *pg =
        atomic_load_explicit(&base_pages[id >> VITTE__SHARD_PAGE_BITS], memory_order_acquire);
    return pg != NULL ? &pg[id & (VITTE__SHARD_PAGE - 1)] : NULL;
}

int vitte__shard_id_alloc(int kind, void *owner, vitte__shard_fold_fn fold, uint32_t *out)
{
    pthread_once(&once, init_once);
    pthread_mutex_lock(&lock);
    uint32_t id;
    if (n_free_ids > 0) {
        id = free_ids[--n_free_ids];
    } else if (next_id < VITTE__SHARD_MAX_IDS) {
        id = next_id;
    } else {
        pthread_mutex_unlock(&lock);
        return VITTE_ELIMIT;
    }
    uint32_t p = id >> VITTE__SHARD_PAGE_BITS;
    if (id_pages[p] == NULL) {
        id_pages[p] = vitte__calloc(VITTE__SHARD_PAGE, sizeof(struct id_info));
        if (id_pages[p] == NULL)
            goto nomem;
    }
    if (atomic_load_explicit(&base_pages[p], memory_order_relaxed) == NULL) {
        _Atomic uint64_t *bp = vitte__calloc(VITTE__SHARD_PAGE, sizeof(uint64_t));
        if (bp == NULL)
            goto nomem;
        atomic_store_explicit(&base_pages[p], bp, memory_order_release);
    }
    if (id == next_id)
        next_id++;
    *info_of(id) = (struct id_info){kind, owner, fold};
    atomic_store_explicit(vitte__shard_base(id), 0, memory_order_relaxed);
    pthread_mutex_unlock(&lock);
    *out = id;
    return VITTE_OK;
nomem:
    if (id != next_id)
        free_ids[n_free_ids++] = id;
    pthread_mutex_unlock(&lock);
    return VITTE_ENOMEM;
}

void vitte__shard_id_free(uint32_t id)
{
    pthread_mutex_lock(&lock);
    struct id_info *info = info_of(id);
    if (info == NULL || info->kind == VITTE__ID_FREE) {
        pthread_mutex_unlock(&lock);
        return;
    }
    uint32_t p = id >> VITTE__SHARD_PAGE_BITS, i = id & (VITTE__SHARD_PAGE - 1);
    for (struct vitte__tls *t = threads; t != NULL; t = t->next) {
        _Atomic uint64_t *pg = atomic_load_explicit(&t->pages[p], memory_order_acquire);
        if (pg == NULL)
            continue;
        uint64_t v = atomic_load_explicit(&pg[i], memory_order_relaxed);
        if (info->kind == VITTE__ID_HISTOGRAM && v != 0)
            info->fold(info->owner, (void *)(uintptr_t)v, 1);
        atomic_store_explicit(&pg[i], 0, memory_order_relaxed);
    }
    atomic_store_explicit(vitte__shard_base(id), 0, memory_order_relaxed);
    *info = (struct id_info){VITTE__ID_FREE, NULL, NULL};
    /* Keep the id for reuse; if the list cannot grow the id is leaked, which
     * costs one slot and nothing else. */
    if (n_free_ids == cap_free_ids) {
        size_t cap = cap_free_ids ? cap_free_ids * 2 : 64;
        uint32_t *nf = vitte__realloc(free_ids, cap * sizeof *nf);
        if (nf != NULL) {
            free_ids = nf;
            cap_free_ids = cap;
        }
    }
    if (n_free_ids < cap_free_ids)
        free_ids[n_free_ids++] = id;
    pthread_mutex_unlock(&lock);
}

void vitte__shard_each(uint32_t id, vitte__shard_each_fn fn, void *ud)
{
    uint32_t p = id >> VITTE__SHARD_PAGE_BITS, i = id & (VITTE__SHARD_PAGE - 1);
    for (struct vitte__tls *t = threads; t != NULL; t = t->next) {
        _Atomic uint64_t *pg = atomic_load_explicit(&t->pages[p], memory_order_acquire);
        if (pg != NULL)
            fn(atomic_load_explicit(&pg[i], memory_order_acquire), ud);
    }
}

_Atomic uint64_t *vitte__shard_slot_slow(uint32_t id)
{
    struct vitte__tls *t = vitte__tls_cur;
    if (t == NULL) {
        pthread_once(&once, init_once);
        t = vitte__calloc(1, sizeof *t);
        if (t == NULL)
            return NULL;
        pthread_mutex_lock(&lock);
        t->next = threads;
        if (threads != NULL)
            threads->prev = t;
        threads = t;
        pthread_mutex_unlock(&lock);
        vitte__tls_cur = t;
        pthread_setspecific(exit_key, t);
    }
    uint32_t p = id >> VITTE__SHARD_PAGE_BITS;
    _Atomic uint64_t *pg = atomic_load_explicit(&t->pages[p], memory_order_relaxed);
    if (pg == NULL) {
        pg = vitte__calloc(VITTE__SHARD_PAGE, sizeof(uint64_t));
        if (pg == NULL)
            return NULL;
        atomic_store_explicit(&t->pages[p], pg, memory_order_release);
    }
    return &pg[id & (VITTE__SHARD_PAGE - 1)];
}

/* Thread exit: fold every slot into its metric, then unlink, all under the
 * lock, so a reader sees the values either in the thread or in the base. */
static void thread_exit(void *arg)
{
    struct vitte__tls *t = arg;
    vitte__tls_cur = NULL;
    pthread_mutex_lock(&lock);
    for (uint32_t p = 0; p < VITTE__SHARD_PAGES; p++) {
        _Atomic uint64_t *pg = atomic_load_explicit(&t->pages[p], memory_order_relaxed);
        if (pg == NULL)
            continue;
        for (uint32_t i = 0; i < VITTE__SHARD_PAGE; i++) {
            uint64_t v = atomic_load_explicit(&pg[i], memory_order_relaxed);
            if (v == 0)
                continue;
            uint32_t id = (p << VITTE__SHARD_PAGE_BITS) | i;
            struct id_info *info = info_of(id);
            if (info == NULL)
                continue;
            if (info->kind == VITTE__ID_COUNTER)
                atomic_fetch_add_explicit(vitte__shard_base(id), v, memory_order_relaxed);
            else if (info->kind == VITTE__ID_HISTOGRAM)
                info->fold(info->owner, (void *)(uintptr_t)v, 0);
        }
    }
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        threads = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
    pthread_mutex_unlock(&lock);
    for (uint32_t p = 0; p < VITTE__SHARD_PAGES; p++)
        vitte__free((void *)atomic_load_explicit(&t->pages[p], memory_order_relaxed));
    vitte__free(t);
}
