/* pprof_gen: write a pprof profile (.pb.gz) from known synthetic stack
 * samples through the pprof export sink, for tests/scripts/test_pprof.sh to
 * check with `go tool pprof`.  It uses the internal export interfaces (there
 * is no public way to record samples yet), so it links vitte_internal and is
 * built by tests/pprof.cmake, not by the glob over tests/tools.
 *
 *   pprof_gen OUT.pb.gz            the profile below
 *   pprof_gen --empty OUT.pb.gz    no samples at all
 *
 * 1000 CPU samples of 1 ms each (1 s in all), process "demo" pid 4242:
 *
 *   600  vec_dot (inlined into compute, demo.c:12) < compute (demo.c:30) < main
 *        400 on thread "main" (tid 1001), 200 on "worker" (tid 1002)
 *   300  parse (demo.c:70) < main                      on "worker"
 *   100  copy_bytes (libfast.so) < compute (demo.c:34) < main   on "main"
 *
 * so the flat shares are vec_dot 60%, parse 30%, copy_bytes 10%, and on the
 * worker alone (500 ms) vec_dot 40%, parse 60%.  /usr/bin/demo has build id
 * 0123456789abcdef0123456789abcdef01234567, libfast.so feedfacecafe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vitte/vitte.h>

#include "common/textbuf.h"
#include "export/export_trace.h"

#define START_NS 1000000000ull
#define N_EVENTS 1000

typedef struct gen_source {
    vitte_trace_event ev[N_EVENTS];
    size_t n, pos;
    vitte_trace_thread threads[2];
    vitte_trace_file_info info;
} gen_source;

static int g_open(void *ctx, vitte_diag *diag)
{
    (void)diag;
    ((gen_source *)ctx)->pos = 0;
    return VITTE_OK;
}

static int g_next(void *ctx, const vitte_trace_event **ev, vitte_diag *diag)
{
    gen_source *g = ctx;
    (void)diag;
    if (g->pos >= g->n)
        return 0;
    *ev = &g->ev[g->pos++];
    return 1;
}

static int g_info(void *ctx, vitte_trace_file_info *out)
{
    gen_source *g = ctx;
    *out = g->info;
    out->events = g->pos;
    return VITTE_OK;
}

static const vitte_trace_thread *g_threads(void *ctx, size_t *n)
{
    *n = 2;
    return ((gen_source *)ctx)->threads;
}

static void g_close(void *ctx)
{
    (void)ctx;
}

static const vitte__xsource_ops g_ops = {g_open, g_next, g_info, g_threads, g_close};

static const vitte_trace_mapping exe = {"/usr/bin/demo", "0123456789abcdef0123456789abcdef01234567",
                                        0x555555554000ull, 0x555555580000ull, 0};
static const vitte_trace_mapping lib = {"/usr/lib/libfast.so", "feedfacecafe", 0x7ffff7e00000ull,
                                        0x7ffff7f00000ull, 0x1000};

static vitte_trace_frame fr(const char *fn, uint32_t line, uint64_t addr,
                            const vitte_trace_mapping *m)
{
    vitte_trace_frame f;
    memset(&f, 0, sizeof f);
    f.function = fn;
    f.file = m == &exe ? "demo.c" : "";
    f.line = line;
    f.symbolized = 1;
    f.address = addr;
    f.mapping = m;
    return f;
}

static vitte_trace_frame st_vec[3], st_parse[2], st_copy[3];

static void add(gen_source *g, uint32_t tid, const vitte_trace_frame *frames, size_t n)
{
    vitte_trace_event *e = &g->ev[g->n];
    memset(e, 0, sizeof *e);
    e->type = VITTE_EVENT_SAMPLE;
    e->pid = g->info.pid;
    e->tid = tid;
    e->ts_ns = START_NS + g->n * 1000000ull;
    e->dur_ns = 1000000;
    e->name = frames[0].function;
    e->module = e->tags = e->file = "";
    e->sample_kind = VITTE_SAMPLE_CPU;
    e->n_frames = n;
    e->frames = frames;
    g->n++;
}

static void on_warning(const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "pprof_gen: warning: %s\n", msg);
}

int main(int argc, char **argv)
{
    int empty = argc == 3 && strcmp(argv[1], "--empty") == 0;
    if (argc != 2 && !empty) {
        fprintf(stderr, "usage: pprof_gen [--empty] OUT.pb.gz\n");
        return 2;
    }
    const char *path = argv[argc - 1];
    static gen_source g;
    g.info.version_major = 1;
    g.info.pid = 4242;
    g.info.process_name = "demo";
    g.info.clock = "CLOCK_MONOTONIC";
    g.info.start_ns = START_NS;
    g.info.start_realtime_ns = 1700000000000000000ll;
    g.info.end_ns = START_NS + 1000000000ull;
    g.info.complete = 1;
    g.threads[0] = (vitte_trace_thread){4242, 1001, "main", 0, 0};
    g.threads[1] = (vitte_trace_thread){4242, 1002, "worker", 0, 0};

    st_vec[0] = fr("vec_dot", 12, 0x555555555100, &exe);
    st_vec[0].inlined = 1;
    st_vec[1] = fr("compute", 30, 0x555555555100, &exe);
    st_vec[2] = fr("main", 90, 0x555555555400, &exe);
    st_parse[0] = fr("parse", 70, 0x555555555300, &exe);
    st_parse[1] = fr("main", 88, 0x555555555410, &exe);
    st_copy[0] = fr("copy_bytes", 0, 0x7ffff7e01234, &lib);
    st_copy[1] = fr("compute", 34, 0x555555555140, &exe);
    st_copy[2] = fr("main", 90, 0x555555555400, &exe);
    if (!empty) {
        /* Interleaved, as a sampler would see them. */
        for (int i = 0; i < 100; i++) {
            for (int k = 0; k < 4; k++)
                add(&g, 1001, st_vec, 3);
            for (int k = 0; k < 2; k++)
                add(&g, 1002, st_vec, 3);
            for (int k = 0; k < 3; k++)
                add(&g, 1002, st_parse, 2);
            add(&g, 1001, st_copy, 3);
        }
    }

    FILE *out = fopen(path, "wb");
    if (out == NULL) {
        perror(path);
        return 1;
    }
    vitte_trace_export_options o;
    vitte_trace_export_options_init(&o);
    o.format = VITTE_TRACE_FORMAT_PPROF;
    o.on_warning = on_warning;
    vitte__xsource src = {&g_ops, &g, "demo.vittrace"};
    vitte__buf b;
    vitte__buf_init_file(&b, out);
    vitte_diag d;
    int rc = vitte__export_trace_run(&src, 1, &o, &b, &d);
    int frc = vitte__buf_flush(&b);
    vitte__buf_free(&b);
    if (fclose(out) != 0 && frc == 0)
        frc = VITTE_EIO;
    if (rc != VITTE_OK || frc != 0) {
        fprintf(stderr, "pprof_gen: %s: %s\n", path,
                rc != VITTE_OK ? d.message : vitte_strerror(frc));
        return 1;
    }
    return 0;
}
