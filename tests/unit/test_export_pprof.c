/* The pprof export (src/export/export_trace_pprof.c) on synthetic stack
 * samples fed through the export driver: the output is gunzipped with zlib
 * and decoded with the protobuf-c code generated from pprof's own
 * profile.proto, then its structure is checked the way pprof's CheckValid
 * does (ids non-zero and unique, every reference resolves,
 * string_table[0] == ""), plus what the sink promises: inline frames grouped
 * into one location, samples merged by (stack, thread), values summing to the
 * input weights, thread labels, mappings, comments.
 *
 * tests/scripts/test_pprof.sh checks the same kind of output with
 * `go tool pprof` itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include <vitte/vitte.h>

#include "profile.pb-c.h"

#include "common/textbuf.h"
#include "export/export_trace.h"

typedef Perftools__Profiles__Profile Profile;

/* ---- a synthetic source -------------------------------------------------------------------- */

#define START_NS    5000000000ull
#define REALTIME_NS 1700000000123456789ll

typedef struct fake_source {
    vitte_trace_event ev[64];
    vitte_trace_frame frames[64][8];
    size_t n, pos;
    vitte_trace_thread threads[4];
    size_t n_threads;
    vitte_trace_file_info info;
} fake_source;

static void fs_init(fake_source *f)
{
    memset(f, 0, sizeof *f);
    f->info.version_major = 1;
    f->info.pid = 4242;
    f->info.process_name = "demo";
    f->info.clock = "CLOCK_MONOTONIC";
    f->info.start_ns = START_NS;
    f->info.start_realtime_ns = REALTIME_NS;
    f->info.end_ns = START_NS + 2000000000ull;
    f->info.complete = 1;
}

static int fs_open(void *ctx, vitte_diag *diag)
{
    (void)diag;
    ((fake_source *)ctx)->pos = 0;
    return VITTE_OK;
}

static int fs_next(void *ctx, const vitte_trace_event **ev, vitte_diag *diag)
{
    fake_source *f = ctx;
    (void)diag;
    if (f->pos >= f->n)
        return 0;
    *ev = &f->ev[f->pos++];
    return 1;
}

static int fs_info(void *ctx, vitte_trace_file_info *out)
{
    fake_source *f = ctx;
    *out = f->info;
    out->events = f->pos;
    return VITTE_OK;
}

static const vitte_trace_thread *fs_threads(void *ctx, size_t *n)
{
    fake_source *f = ctx;
    *n = f->n_threads;
    return f->threads;
}

static void fs_close(void *ctx)
{
    (void)ctx;
}

static const vitte__xsource_ops fs_ops = {fs_open, fs_next, fs_info, fs_threads, fs_close};

static const vitte_trace_mapping exe_map = {"/usr/bin/demo",
                                            "0123456789abcdef0123456789abcdef01234567",
                                            0x555555554000ull, 0x555555560000ull, 0};
static const vitte_trace_mapping libc_map = {"/usr/lib/x86_64-linux-gnu/libc.so.6", "feedface",
                                             0x7ffff7d80000ull, 0x7ffff7f00000ull, 0x28000};

static vitte_trace_frame frame(const char *fn, const char *file, uint32_t line, uint64_t addr,
                               const vitte_trace_mapping *m)
{
    vitte_trace_frame f;
    memset(&f, 0, sizeof f);
    f.function = fn;
    f.file = file;
    f.line = line;
    f.symbolized = 1;
    f.address = addr;
    f.mapping = m;
    return f;
}

/* A sample of weight ns on tid with frames (leaf first). */
static vitte_trace_event *add_sample(fake_source *f, uint32_t tid, uint64_t ns,
                                     vitte_sample_kind kind, const vitte_trace_frame *fr, size_t n)
{
    assert_true(f->n < 64 && n <= 8);
    vitte_trace_event *e = &f->ev[f->n];
    memset(e, 0, sizeof *e);
    if (n != 0)
        memcpy(f->frames[f->n], fr, n * sizeof *fr);
    e->type = VITTE_EVENT_SAMPLE;
    e->pid = f->info.pid;
    e->tid = tid;
    e->ts_ns = START_NS + 1000 * (f->n + 1);
    e->dur_ns = ns;
    e->name = n != 0 ? fr[0].function : "";
    e->module = "";
    e->tags = "";
    e->file = "";
    e->sample_kind = kind;
    e->n_frames = n;
    e->frames = n != 0 ? f->frames[f->n] : NULL;
    f->n++;
    return e;
}

static void add_thread(fake_source *f, uint32_t tid, const char *name)
{
    f->threads[f->n_threads++] = (vitte_trace_thread){f->info.pid, tid, name, 0, 0};
}

/* ---- running and decoding ------------------------------------------------------------------ */

typedef struct warnings {
    char text[8][256];
    size_t n;
} warnings;

static void on_warning(const char *msg, void *ud)
{
    warnings *w = ud;
    if (w->n < 8)
        snprintf(w->text[w->n++], sizeof w->text[0], "%s", msg);
}

/* Gunzip data[0..n) (which must be gzip, not plain). */
static unsigned char *gunzip(const unsigned char *data, size_t n, size_t *out_len)
{
    assert_true(n >= 18);
    assert_int_equal(data[0], 0x1f);
    assert_int_equal(data[1], 0x8b);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    size_t cap = 4096, len = 0;
    unsigned char *out = malloc(cap);
    assert_non_null(out);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)n;
    int zrc;
    do {
        if (cap - len < 4096) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        z.next_out = out + len;
        z.avail_out = (uInt)(cap - len);
        zrc = inflate(&z, Z_NO_FLUSH);
        assert_true(zrc == Z_OK || zrc == Z_STREAM_END);
        len = cap - z.avail_out;
    } while (zrc != Z_STREAM_END);
    assert_int_equal(z.avail_in, 0); /* nothing after the gzip member */
    inflateEnd(&z);
    *out_len = len;
    return out;
}

/* Export f as pprof and decode it (free with perftools__profiles__profile__free_unpacked). */
static Profile *export_pprof(fake_source *f, warnings *w)
{
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.format = VITTE_TRACE_FORMAT_PPROF;
    if (w != NULL) {
        memset(w, 0, sizeof *w);
        o.on_warning = on_warning;
        o.warning_ud = w;
    }
    vitte__xsource src = {&fs_ops, f, "demo.vittrace"};
    vitte__buf b;
    vitte__buf_init_libc(&b);
    vitte_diag d;
    int rc = vitte__export_trace_run(&src, 1, &o, &b, &d);
    if (rc != VITTE_OK)
        fail_msg("export: %s (%s)", vitte_strerror(rc), d.message);
    size_t n;
    unsigned char *gz = (unsigned char *)vitte__buf_detach(&b, &n);
    assert_non_null(gz);
    size_t raw_len;
    unsigned char *raw = gunzip(gz, n, &raw_len);
    Profile *p = perftools__profiles__profile__unpack(NULL, raw_len, raw);
    assert_non_null(p);
    free(raw);
    free(gz);
    return p;
}

static const char *str(const Profile *p, int64_t i)
{
    assert_true(i >= 0 && (size_t)i < p->n_string_table);
    return p->string_table[i];
}

static const Perftools__Profiles__Function *find_function(const Profile *p, uint64_t id)
{
    for (size_t i = 0; i < p->n_function; i++)
        if (p->function[i]->id == id)
            return p->function[i];
    fail_msg("no function %llu", (unsigned long long)id);
    return NULL;
}

static const Perftools__Profiles__Location *find_location(const Profile *p, uint64_t id)
{
    for (size_t i = 0; i < p->n_location; i++)
        if (p->location[i]->id == id)
            return p->location[i];
    fail_msg("no location %llu", (unsigned long long)id);
    return NULL;
}

static const Perftools__Profiles__Mapping *find_mapping(const Profile *p, uint64_t id)
{
    for (size_t i = 0; i < p->n_mapping; i++)
        if (p->mapping[i]->id == id)
            return p->mapping[i];
    fail_msg("no mapping %llu", (unsigned long long)id);
    return NULL;
}

/* The checks pprof's CheckValid makes, and a few of ours. */
static void check_valid(const Profile *p)
{
    assert_true(p->n_string_table >= 1);
    assert_string_equal(p->string_table[0], "");
    for (size_t i = 1; i < p->n_string_table; i++)
        for (size_t j = i + 1; j < p->n_string_table; j++)
            assert_string_not_equal(p->string_table[i], p->string_table[j]);
    assert_true(p->n_sample_type >= 2);
    assert_string_equal(str(p, p->sample_type[0]->type), "samples");
    assert_string_equal(str(p, p->sample_type[0]->unit), "count");
    assert_non_null(p->period_type);
    assert_string_equal(str(p, p->period_type->unit), "nanoseconds");
    for (size_t i = 0; i < p->n_comment; i++)
        (void)str(p, p->comment[i]);
    for (size_t i = 0; i < p->n_mapping; i++) {
        const Perftools__Profiles__Mapping *m = p->mapping[i];
        assert_int_equal(m->id, i + 1); /* ids are dense, from 1 */
        (void)str(p, m->filename);
        (void)str(p, m->build_id);
        assert_true(m->memory_start < m->memory_limit);
    }
    for (size_t i = 0; i < p->n_function; i++) {
        const Perftools__Profiles__Function *f = p->function[i];
        assert_int_equal(f->id, i + 1);
        assert_true(str(p, f->name)[0] != '\0');
        (void)str(p, f->system_name);
        (void)str(p, f->filename);
        for (size_t j = 0; j < i; j++) /* deduplicated by (name, file) */
            assert_false(p->function[j]->name == f->name &&
                         p->function[j]->filename == f->filename);
    }
    for (size_t i = 0; i < p->n_location; i++) {
        const Perftools__Profiles__Location *l = p->location[i];
        assert_int_equal(l->id, i + 1);
        if (l->mapping_id != 0)
            (void)find_mapping(p, l->mapping_id);
        assert_true(l->n_line >= 1);
        for (size_t k = 0; k < l->n_line; k++)
            (void)find_function(p, l->line[k]->function_id);
    }
    for (size_t i = 0; i < p->n_sample; i++) {
        const Perftools__Profiles__Sample *s = p->sample[i];
        assert_int_equal(s->n_value, p->n_sample_type);
        assert_true(s->n_location_id >= 1);
        for (size_t k = 0; k < s->n_location_id; k++) {
            assert_int_not_equal(s->location_id[k], 0);
            (void)find_location(p, s->location_id[k]);
        }
        for (size_t k = 0; k < s->n_label; k++)
            (void)str(p, s->label[k]->key);
    }
}

/* The function names of location id (innermost first), joined by '<'. */
static void location_text(const Profile *p, uint64_t id, char *out, size_t size)
{
    const Perftools__Profiles__Location *l = find_location(p, id);
    out[0] = '\0';
    for (size_t k = 0; k < l->n_line; k++) {
        const Perftools__Profiles__Function *f = find_function(p, l->line[k]->function_id);
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%s", k != 0 ? "<" : "", str(p, f->name));
    }
}

/* The stack of sample s, leaf first: "leaf;caller<inlinedinto;root". */
static void stack_text(const Profile *p, const Perftools__Profiles__Sample *s, char *out,
                       size_t size)
{
    out[0] = '\0';
    for (size_t k = 0; k < s->n_location_id; k++) {
        char loc[256];
        location_text(p, s->location_id[k], loc, sizeof loc);
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%s", k != 0 ? ";" : "", loc);
    }
}

static const Perftools__Profiles__Label *
label(const Profile *p, const Perftools__Profiles__Sample *s, const char *key)
{
    for (size_t k = 0; k < s->n_label; k++)
        if (strcmp(str(p, s->label[k]->key), key) == 0)
            return s->label[k];
    return NULL;
}

/* The sample with this stack on this tid, or NULL. */
static const Perftools__Profiles__Sample *find_sample(const Profile *p, const char *stack,
                                                      int64_t tid)
{
    for (size_t i = 0; i < p->n_sample; i++) {
        char text[1024];
        stack_text(p, p->sample[i], text, sizeof text);
        const Perftools__Profiles__Label *l = label(p, p->sample[i], "tid");
        if (strcmp(text, stack) == 0 && l != NULL && l->num == tid)
            return p->sample[i];
    }
    return NULL;
}

static int has_comment(const Profile *p, const char *needle)
{
    for (size_t i = 0; i < p->n_comment; i++)
        if (strstr(str(p, p->comment[i]), needle) != NULL)
            return 1;
    return 0;
}

/* ---- the tests ----------------------------------------------------------------------------- */

/* main -> compute -> (kernel inlined into compute) on two threads, plus
 * helper in libc; other events mixed in. */
static void build_demo(fake_source *f)
{
    fs_init(f);
    add_thread(f, 101, "main");
    add_thread(f, 102, "worker");
    vitte_trace_frame k[3] = {
        frame("kernel", "demo.c", 12, 0x555555555100, &exe_map),
        frame("compute", "demo.c", 30, 0x555555555100, &exe_map),
        frame("main", "demo.c", 50, 0x555555555200, &exe_map),
    };
    k[0].inlined = 1;
    vitte_trace_frame c[2] = {
        frame("compute", "demo.c", 33, 0x555555555140, &exe_map),
        frame("main", "demo.c", 50, 0x555555555200, &exe_map),
    };
    vitte_trace_frame h[3] = {
        frame("memcpy", "", 0, 0x7ffff7d91234, &libc_map),
        frame("compute", "demo.c", 34, 0x555555555150, &exe_map),
        frame("main", "demo.c", 50, 0x555555555200, &exe_map),
    };
    h[0].symbolized = 1;
    for (int i = 0; i < 6; i++) /* kernel: 6 x 10 ms, 4 on main, 2 on worker */
        add_sample(f, i < 4 ? 101 : 102, 10000000, VITTE_SAMPLE_CPU, k, 3);
    for (int i = 0; i < 3; i++) /* compute itself: 30 ms */
        add_sample(f, 102, 10000000, VITTE_SAMPLE_CPU, c, 2);
    add_sample(f, 101, 10000000, VITTE_SAMPLE_CPU, h, 3); /* memcpy: 10 ms */
    /* Other event types: ignored. */
    vitte_trace_event *s = &f->ev[f->n++];
    memset(s, 0, sizeof *s);
    s->type = VITTE_EVENT_SPAN;
    s->tid = 101;
    s->ts_ns = START_NS;
    s->dur_ns = 5;
    s->name = "span";
    s->module = s->tags = s->file = "";
}

static void test_structure(void **state)
{
    (void)state;
    static fake_source f;
    build_demo(&f);
    warnings w;
    Profile *p = export_pprof(&f, &w);
    check_valid(p);
    assert_int_equal(w.n, 0);
    assert_int_equal(p->n_comment, 0);

    /* Values: samples/count, cpu/nanoseconds; period = the common weight. */
    assert_int_equal(p->n_sample_type, 2);
    assert_string_equal(str(p, p->sample_type[1]->type), "cpu");
    assert_string_equal(str(p, p->sample_type[1]->unit), "nanoseconds");
    assert_string_equal(str(p, p->period_type->type), "cpu");
    assert_int_equal(p->period, 10000000);
    assert_int_equal(p->time_nanos, REALTIME_NS);
    assert_int_equal(p->duration_nanos, 2000000000);
    assert_int_equal(p->default_sample_type, 0);

    /* Values sum to the input. */
    int64_t count = 0, ns = 0;
    for (size_t i = 0; i < p->n_sample; i++) {
        count += p->sample[i]->value[0];
        ns += p->sample[i]->value[1];
    }
    assert_int_equal(count, 10);
    assert_int_equal(ns, 100000000);

    /* Merged by (stack, thread): 4 distinct. */
    assert_int_equal(p->n_sample, 4);
    const Perftools__Profiles__Sample *s = find_sample(p, "kernel<compute;main", 101);
    assert_non_null(s);
    assert_int_equal(s->value[0], 4);
    assert_int_equal(s->value[1], 40000000);
    s = find_sample(p, "kernel<compute;main", 102);
    assert_non_null(s);
    assert_int_equal(s->value[1], 20000000);
    s = find_sample(p, "compute;main", 102);
    assert_non_null(s);
    assert_int_equal(s->value[1], 30000000);
    s = find_sample(p, "memcpy;compute;main", 101);
    assert_non_null(s);
    assert_int_equal(s->value[0], 1);

    /* Thread labels. */
    const Perftools__Profiles__Label *l = label(p, s, "thread");
    assert_non_null(l);
    assert_string_equal(str(p, l->str), "main");
    l = label(p, s, "pid");
    assert_non_null(l);
    assert_int_equal(l->num, 4242);
    l = label(p, find_sample(p, "compute;main", 102), "thread");
    assert_non_null(l);
    assert_string_equal(str(p, l->str), "worker");

    /* Locations: kernel+compute (one address), compute, compute (memcpy's
     * caller), memcpy, main: 5, deduplicated across samples and threads. */
    assert_int_equal(p->n_location, 5);
    /* Functions by (name, file): kernel, compute, main, memcpy. */
    assert_int_equal(p->n_function, 4);

    /* The inline location: line[0] the innermost, with its own line number,
     * at the address of the frame it was inlined into. */
    s = find_sample(p, "kernel<compute;main", 101);
    const Perftools__Profiles__Location *loc = find_location(p, s->location_id[0]);
    assert_int_equal(loc->n_line, 2);
    assert_int_equal(loc->address, 0x555555555100);
    assert_int_equal(loc->line[0]->line, 12);
    assert_int_equal(loc->line[1]->line, 30);
    const Perftools__Profiles__Function *fn = find_function(p, loc->line[0]->function_id);
    assert_string_equal(str(p, fn->name), "kernel");
    assert_string_equal(str(p, fn->system_name), "kernel");
    assert_string_equal(str(p, fn->filename), "demo.c");

    /* Mappings: the executable first, then libc, with build ids and flags. */
    assert_int_equal(p->n_mapping, 2);
    const Perftools__Profiles__Mapping *m = p->mapping[0];
    assert_string_equal(str(p, m->filename), "/usr/bin/demo");
    assert_string_equal(str(p, m->build_id), exe_map.build_id);
    assert_int_equal(m->memory_start, exe_map.start);
    assert_int_equal(m->memory_limit, exe_map.limit);
    assert_true(m->has_functions && m->has_filenames && m->has_line_numbers &&
                m->has_inline_frames);
    assert_int_equal(loc->mapping_id, m->id);
    m = p->mapping[1];
    assert_string_equal(str(p, m->filename), libc_map.path);
    assert_string_equal(str(p, m->build_id), "feedface");
    assert_int_equal(m->file_offset, 0x28000);
    assert_true(m->has_functions);
    assert_false(m->has_filenames || m->has_line_numbers || m->has_inline_frames);
    perftools__profiles__profile__free_unpacked(p, NULL);
}

static void test_empty(void **state)
{
    (void)state;
    static fake_source f;
    fs_init(&f);
    warnings w;
    Profile *p = export_pprof(&f, &w);
    check_valid(p);
    assert_int_equal(p->n_sample, 0);
    assert_int_equal(p->n_location, 0);
    assert_int_equal(p->n_function, 0);
    assert_int_equal(p->n_mapping, 0);
    assert_int_equal(p->n_sample_type, 2);
    assert_string_equal(str(p, p->sample_type[1]->type), "cpu");
    assert_true(has_comment(p, "no stack samples"));
    assert_true(w.n >= 1);
    assert_non_null(strstr(w.text[w.n - 1], "no stack samples"));
    perftools__profiles__profile__free_unpacked(p, NULL);

    /* Only spans: still empty, still valid. */
    fs_init(&f);
    vitte_trace_event *s = &f.ev[f.n++];
    s->type = VITTE_EVENT_SPAN;
    s->tid = 1;
    s->ts_ns = START_NS;
    s->name = "x";
    s->module = s->tags = s->file = "";
    p = export_pprof(&f, NULL);
    check_valid(p);
    assert_int_equal(p->n_sample, 0);
    perftools__profiles__profile__free_unpacked(p, NULL);
}

static void test_wall_and_mixed(void **state)
{
    (void)state;
    static fake_source f;
    fs_init(&f);
    vitte_trace_frame a[1] = {frame("sleep", "", 0, 0x1000, NULL)};
    vitte_trace_frame b[1] = {frame("spin", "", 0, 0x2000, NULL)};
    add_sample(&f, 7, 5000, VITTE_SAMPLE_WALL, a, 1);
    add_sample(&f, 7, 5000, VITTE_SAMPLE_WALL, a, 1);
    add_sample(&f, 7, 7000, VITTE_SAMPLE_WALL, b, 1);
    Profile *p = export_pprof(&f, NULL);
    check_valid(p);
    assert_int_equal(p->n_sample_type, 2);
    assert_string_equal(str(p, p->sample_type[1]->type), "wall");
    assert_string_equal(str(p, p->period_type->type), "wall");
    assert_int_equal(p->period, 5000);
    assert_int_equal(p->n_mapping, 0);
    for (size_t i = 0; i < p->n_location; i++)
        assert_int_equal(p->location[i]->mapping_id, 0);
    /* No thread name: tid and pid labels only. */
    assert_null(label(p, p->sample[0], "thread"));
    assert_non_null(label(p, p->sample[0], "tid"));
    perftools__profiles__profile__free_unpacked(p, NULL);

    /* Add CPU samples: a third value type, wall stays the default. */
    add_sample(&f, 7, 3000, VITTE_SAMPLE_CPU, b, 1);
    warnings w;
    p = export_pprof(&f, &w);
    check_valid(p);
    assert_int_equal(p->n_sample_type, 3);
    assert_string_equal(str(p, p->sample_type[1]->type), "wall");
    assert_string_equal(str(p, p->sample_type[2]->type), "cpu");
    assert_string_equal(str(p, p->default_sample_type), "wall");
    const Perftools__Profiles__Sample *s = find_sample(p, "spin", 7);
    assert_non_null(s);
    assert_int_equal(s->value[0], 2);
    assert_int_equal(s->value[1], 7000);
    assert_int_equal(s->value[2], 3000);
    s = find_sample(p, "sleep", 7);
    assert_int_equal(s->value[1], 10000);
    assert_int_equal(s->value[2], 0);
    assert_int_equal(w.n, 1);
    assert_true(has_comment(p, "1 cpu samples among 3 wall samples"));
    perftools__profiles__profile__free_unpacked(p, NULL);
}

static void test_odd_input(void **state)
{
    (void)state;
    static fake_source f;
    fs_init(&f);
    /* No frames at all. */
    add_sample(&f, 1, 100, VITTE_SAMPLE_CPU, NULL, 0);
    /* Unsymbolized frames: the placeholder names, no has_functions. */
    static const vitte_trace_mapping lib = {"/opt/libx.so", "", 0x7f0000000000ull,
                                            0x7f0000100000ull, 0};
    vitte_trace_frame u[2] = {frame("libx.so+0x1a2b", "", 0, 0x7f0000001a2b, &lib),
                              frame("libx.so+0x10", "", 0, 0x7f0000000010, &lib)};
    u[0].symbolized = u[1].symbolized = 0;
    add_sample(&f, 1, 100, VITTE_SAMPLE_CPU, u, 2);
    /* Invalid UTF-8 in a name; an inlined root (nothing to inline into). */
    vitte_trace_frame bad[2] = {frame("caf\xe9", "x.c", 1, 0x10, NULL),
                                frame("root", "x.c", 2, 0x20, NULL)};
    bad[1].inlined = 1;
    add_sample(&f, 1, 100, VITTE_SAMPLE_CPU, bad, 2);
    /* Same address, two different inline chains: two locations. */
    vitte_trace_frame i1[2] = {frame("a", "x.c", 1, 0x40, NULL), frame("b", "x.c", 2, 0x40, NULL)};
    i1[0].inlined = 1;
    vitte_trace_frame i2[1] = {frame("b", "x.c", 2, 0x40, NULL)};
    add_sample(&f, 1, 100, VITTE_SAMPLE_CPU, i1, 2);
    add_sample(&f, 1, 100, VITTE_SAMPLE_CPU, i2, 1);
    warnings w;
    Profile *p = export_pprof(&f, &w);
    check_valid(p);
    assert_non_null(find_sample(p, "[unknown]", 1));
    assert_true(has_comment(p, "1 samples had no stack"));
    assert_non_null(find_sample(p, "libx.so+0x1a2b;libx.so+0x10", 1));
    assert_int_equal(p->n_mapping, 1);
    assert_false(p->mapping[0]->has_functions || p->mapping[0]->has_filenames ||
                 p->mapping[0]->has_line_numbers || p->mapping[0]->has_inline_frames);
    assert_non_null(find_sample(p, "caf\xef\xbf\xbd;root", 1));
    assert_non_null(find_sample(p, "a<b", 1));
    assert_non_null(find_sample(p, "b", 1));
    int64_t ns = 0;
    for (size_t i = 0; i < p->n_sample; i++)
        ns += p->sample[i]->value[1];
    assert_int_equal(ns, 500);
    perftools__profiles__profile__free_unpacked(p, NULL);
}

/* The same input gives the same bytes (gzip mtime 0, insertion order). */
static void test_deterministic(void **state)
{
    (void)state;
    static fake_source f;
    build_demo(&f);
    char *out[2];
    size_t len[2];
    for (int i = 0; i < 2; i++) {
        vitte_trace_export_options o;
        vitte_trace_export_options_init(&o);
        o.format = VITTE_TRACE_FORMAT_PPROF;
        vitte__xsource src = {&fs_ops, &f, "demo.vittrace"};
        vitte__buf b;
        vitte__buf_init_libc(&b);
        assert_int_equal(vitte__export_trace_run(&src, 1, &o, &b, NULL), VITTE_OK);
        out[i] = vitte__buf_detach(&b, &len[i]);
        assert_non_null(out[i]);
    }
    assert_int_equal(len[0], len[1]);
    assert_memory_equal(out[0], out[1], len[0]);
    free(out[0]);
    free(out[1]);
}

/* Many distinct stacks: the tables grow past their first sizes. */
static void test_many(void **state)
{
    (void)state;
    static fake_source f;
    static char names[64][16];
    fs_init(&f);
    uint64_t total = 0;
    for (int i = 0; i < 64; i++) {
        snprintf(names[i], sizeof names[i], "fn%d", i);
        vitte_trace_frame fr[3] = {frame(names[i], "m.c", (uint32_t)i, 0x1000 + (uint64_t)i, NULL),
                                   frame(names[(i * 7) % 64], "m.c", 1, 0x9000 + (uint64_t)i, NULL),
                                   frame("main", "m.c", 1, 0x100, NULL)};
        add_sample(&f, (uint32_t)(i % 5), (uint64_t)i * 1000, VITTE_SAMPLE_CPU, fr, 3);
        total += (uint64_t)i * 1000;
    }
    Profile *p = export_pprof(&f, NULL);
    check_valid(p);
    assert_int_equal(p->n_sample, 64);
    assert_int_equal(p->n_location, 129);
    int64_t ns = 0;
    for (size_t i = 0; i < p->n_sample; i++)
        ns += p->sample[i]->value[1];
    assert_int_equal(ns, (int64_t)total);
    perftools__profiles__profile__free_unpacked(p, NULL);
}

/* Out of memory at every allocation in turn: VITTE_ENOMEM, nothing leaked
 * (under ASan), until enough memory gives the profile. */
static long alloc_budget = -1; /* allocations left; -1: unlimited */

static void *failing_malloc(size_t n, void *ud)
{
    (void)ud;
    if (alloc_budget == 0)
        return NULL;
    if (alloc_budget > 0)
        alloc_budget--;
    return malloc(n);
}

static void *failing_realloc(void *ptr, size_t n, void *ud)
{
    (void)ud;
    if (alloc_budget == 0)
        return NULL;
    if (alloc_budget > 0)
        alloc_budget--;
    return realloc(ptr, n);
}

static void plain_free(void *ptr, void *ud)
{
    (void)ud;
    free(ptr);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    static fake_source f;
    build_demo(&f);
    const vitte_allocator hooks = {failing_malloc, failing_realloc, plain_free, NULL};
    assert_int_equal(vitte_set_allocator(&hooks), VITTE_OK);
    int ok = 0;
    long budget;
    for (budget = 0; budget < 1000 && !ok; budget++) {
        vitte_trace_export_options o;
        vitte_trace_export_options_init(&o);
        o.format = VITTE_TRACE_FORMAT_PPROF;
        vitte__xsource src = {&fs_ops, &f, "demo.vittrace"};
        vitte__buf b;
        vitte__buf_init_libc(&b);
        alloc_budget = budget;
        int rc = vitte__export_trace_run(&src, 1, &o, &b, NULL);
        alloc_budget = -1;
        vitte__buf_free(&b);
        if (rc != VITTE_OK && rc != VITTE_ENOMEM)
            fail_msg("budget %ld: %s", budget, vitte_strerror(rc));
        ok = rc == VITTE_OK;
    }
    assert_int_equal(vitte_set_allocator(NULL), VITTE_OK);
    assert_true(ok);
    print_message("note: the export needs %ld allocations\n", budget);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure),      cmocka_unit_test(test_empty),
        cmocka_unit_test(test_wall_and_mixed), cmocka_unit_test(test_odd_input),
        cmocka_unit_test(test_deterministic),  cmocka_unit_test(test_many),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
