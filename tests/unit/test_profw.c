/* Samples in .vittrace 1.1: the sample writer (src/prof/profw.c) and the
 * reader's side (MAPPINGS, LOCATIONS, STACKS, SAMPLES, SYMBOLS chunks):
 * round trips, placeholders for unknown code, symbols written at the end
 * and loaded first, exec and fork, truncation and corruption. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vitte/vitte.h>

#include "format/vittrace_codec.h"
#include "format/vittrace_read.h"
#include "prof/profw.h"

static char g_path[256];

static int setup(void **state)
{
    (void)state;
    snprintf(g_path, sizeof g_path, "/tmp/vitte_test_profw_%d.vittrace", (int)getpid());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(g_path);
    return 0;
}

static vitte__profw *open_w(uint32_t pid)
{
    vitte__profw_options o = {g_path, pid, "demo", "demo --x", "perf", "dwarf", 999, 0};
    vitte__profw *w = NULL;
    char err[256];
    assert_int_equal(vitte__profw_open(&o, &w, err), VITTE_OK);
    assert_non_null(w);
    return w;
}

struct got {
    int n;
    uint64_t weight;
    char first[8][128]; /* the first sample's frames */
    size_t first_n;
    uint32_t pids[4];
    int n_pids;
};

static int read_all(const char *path, struct got *g, vitte_diag *d)
{
    memset(g, 0, sizeof *g);
    vitte_trace_reader *r;
    int rc = vitte_trace_reader_open(path, 0, &r, d);
    if (rc != VITTE_OK)
        return rc;
    const vitte_trace_event *e;
    while ((rc = vitte_trace_reader_next(r, &e, d)) >= 0) {
        if (rc == 0)
            break;
        if (e->type != VITTE_EVENT_SAMPLE)
            continue;
        if (g->n == 0) {
            for (size_t i = 0; i < e->n_frames && i < 8; i++)
                snprintf(g->first[i], sizeof g->first[i], "%s", e->frames[i].function);
            g->first_n = e->n_frames;
            assert_string_equal(e->name, e->frames[0].function);
        }
        int seen = 0;
        for (int i = 0; i < g->n_pids; i++)
            seen |= g->pids[i] == e->pid;
        if (!seen && g->n_pids < 4)
            g->pids[g->n_pids++] = e->pid;
        g->n++;
        g->weight += e->dur_ns;
    }
    vitte_trace_reader_close(r);
    return rc;
}

/* Code in no file that exists: placeholders module+offset, never a name. */
static void test_round_trip_placeholders(void **state)
{
    (void)state;
    vitte__profw *w = open_w(100);
    const uint8_t bid[4] = {0xde, 0xad, 0xbe, 0xef};
    assert_int_equal(vitte__profw_mapping(w, 100, 0x400000, 0x401000, 0x2000, "/no/such/libx.so",
                                          bid, sizeof bid),
                     VITTE_OK);
    assert_int_equal(vitte__profw_thread(w, 100, 101, "worker-1"), VITTE_OK);
    const uint64_t ips[3] = {0x400100, 0x400201, 0x400301}; /* leaf, then return addresses */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(vitte__profw_sample(w, 100, 101, 1000000 + (uint64_t)i * 1000000, 1000000,
                                             VITTE_SAMPLE_CPU, ips, 3),
                         VITTE_OK);
    const uint64_t outside[1] = {0x7000};
    assert_int_equal(
        vitte__profw_sample(w, 100, 100, 2000000000, 500, VITTE_SAMPLE_CPU, outside, 1), VITTE_OK);
    assert_int_equal(vitte__profw_close(w, 0), VITTE_OK);

    vitte_trace_reader *r;
    vitte_diag d;
    assert_int_equal(vitte_trace_reader_open(g_path, 0, &r, &d), VITTE_OK);
    const vitte_trace_event *e;
    int n = 0;
    while (vitte_trace_reader_next(r, &e, &d) == 1) {
        assert_int_equal(e->type, VITTE_EVENT_SAMPLE);
        assert_int_equal(e->pid, 100);
        if (n < 1000) {
            assert_int_equal(e->tid, 101);
            assert_int_equal(e->dur_ns, 1000000);
            assert_int_equal(e->ts_ns, 1000000 + (uint64_t)n * 1000000);
            assert_int_equal(e->n_frames, 3);
            /* file offset = ip - start + pgoff; callers land on ip - 1 */
            assert_string_equal(e->frames[0].function, "libx.so+0x2100");
            assert_string_equal(e->frames[1].function, "libx.so+0x2200");
            assert_string_equal(e->frames[2].function, "libx.so+0x2300");
            assert_int_equal(e->frames[0].symbolized, 0);
            assert_int_equal(e->frames[1].address, 0x400200);
            assert_non_null(e->frames[0].mapping);
            assert_string_equal(e->frames[0].mapping->path, "/no/such/libx.so");
            assert_string_equal(e->frames[0].mapping->build_id, "deadbeef");
            assert_int_equal(e->frames[0].mapping->start, 0x400000);
            assert_int_equal(e->frames[0].mapping->limit, 0x401000);
            assert_int_equal(e->frames[0].mapping->file_offset, 0x2000);
            assert_string_equal(e->module, "libx.so");
        } else {
            assert_int_equal(e->n_frames, 1);
            assert_string_equal(e->frames[0].function, "0x7000");
            assert_null(e->frames[0].mapping);
        }
        n++;
    }
    assert_int_equal(n, 1001);
    vitte_trace_file_info info;
    vitte_trace_reader_info(r, &info);
    assert_int_equal(info.version_major, 1);
    assert_int_equal(info.version_minor, 1);
    assert_true(info.complete);
    assert_string_equal(vitte__trace_reader_info_value(r, "sampler"), "perf");
    assert_string_equal(vitte__trace_reader_info_value(r, "prof_samples"), "1001");
    size_t nt;
    const vitte_trace_thread *th = vitte_trace_reader_threads(r, &nt);
    int named = 0;
    for (size_t i = 0; i < nt; i++)
        named |= th[i].tid == 101 && strcmp(th[i].name, "worker-1") == 0;
    assert_true(named);
    vitte_trace_reader_close(r);
}

__attribute__((noinline)) int vitte_test_profw_target(int x);
__attribute__((noinline)) int vitte_test_profw_target(int x)
{
    return x * 3 + 1;
}

/* The mapping of this test executable that holds addr. */
static int self_mapping(uintptr_t addr, uint64_t *start, uint64_t *limit, uint64_t *off, char *path,
                        size_t n)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[1024];
    int found = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi, o;
        char perm[8], p[900];
        p[0] = '\0';
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %899s", &lo, &hi, perm, &o, p) >= 4 &&
            addr >= lo && addr < hi) {
            *start = lo;
            *limit = hi;
            *off = o;
            snprintf(path, n, "%s", p);
            found = 1;
            break;
        }
    }
    fclose(f);
    return found;
}

/* Real code: the SYMBOLS chunk written at the end names it, and the reader
 * loads it before the samples that come first in the file. */
static void test_symbols_at_end(void **state)
{
    (void)state;
    uint64_t start = 0, limit = 0, off = 0;
    char path[900], copy[300], cmd[1300];
    uintptr_t fn = (uintptr_t)&vitte_test_profw_target;
    assert_true(self_mapping(fn, &start, &limit, &off, path, sizeof path));
    /* A copy of the executable that is gone by the time the trace is read:
     * the names must come from the SYMBOLS chunk. */
    snprintf(copy, sizeof copy, "%s.exe", g_path);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path, copy);
    assert_int_equal(system(cmd), 0);
    vitte__profw *w = open_w(7);
    assert_int_equal(vitte__profw_mapping(w, 7, start, limit, off, copy, NULL, 0), VITTE_OK);
    uint64_t ips[2] = {fn + 2, fn + 5};
    for (int i = 0; i < 10; i++)
        assert_int_equal(
            vitte__profw_sample(w, 7, 7, 100 + (uint64_t)i, 1000, VITTE_SAMPLE_CPU, ips, 2),
            VITTE_OK);
    assert_int_equal(vitte__profw_flush(w), VITTE_OK);
    assert_int_equal(vitte__profw_symbolize(w, NULL, 0, NULL, NULL), VITTE_OK);
    assert_int_equal(vitte__profw_close(w, 0), VITTE_OK);
    unlink(copy);
    struct got g;
    vitte_diag d;
    assert_int_equal(read_all(g_path, &g, &d), 0);
    assert_int_equal(g.n, 10);
    assert_int_equal(g.weight, 10000);
    assert_int_equal(g.first_n, 2);
    assert_string_equal(g.first[0], "vitte_test_profw_target");
    assert_string_equal(g.first[1], "vitte_test_profw_target");
}

/* A process that forks and execs: its samples keep their own pid; after
 * exec the old mappings no longer name its code. */
static void test_exec_and_pids(void **state)
{
    (void)state;
    vitte__profw *w = open_w(1);
    vitte__profw_mapping(w, 1, 0x1000, 0x2000, 0, "/old/prog", NULL, 0);
    const uint64_t ip = 0x1010;
    vitte__profw_sample(w, 1, 1, 10, 1, VITTE_SAMPLE_CPU, &ip, 1);
    vitte__profw_mapping(w, 2, 0x1000, 0x2000, 0, "/old/prog", NULL, 0);
    vitte__profw_sample(w, 2, 2, 11, 1, VITTE_SAMPLE_CPU, &ip, 1);
    vitte__profw_exec(w, 2);
    vitte__profw_mapping(w, 2, 0x1000, 0x3000, 0x1000, "/new/prog", NULL, 0);
    vitte__profw_sample(w, 2, 2, 12, 1, VITTE_SAMPLE_CPU, &ip, 1);
    vitte__profw_sample(w, 1, 1, 13, 1, VITTE_SAMPLE_CPU, &ip, 1);
    assert_int_equal(vitte__profw_close(w, 0), VITTE_OK);
    vitte_trace_reader *r;
    vitte_diag d;
    assert_int_equal(vitte_trace_reader_open(g_path, 0, &r, &d), VITTE_OK);
    const vitte_trace_event *e;
    const char *want[][2] = {
        {"1", "prog+0x10"}, {"2", "prog+0x10"}, {"2", "prog+0x1010"}, {"1", "prog+0x10"}};
    int n = 0;
    while (vitte_trace_reader_next(r, &e, &d) == 1) {
        assert_true(n < 4);
        assert_int_equal(e->pid, (uint32_t)atoi(want[n][0]));
        assert_string_equal(e->frames[0].function, want[n][1]);
        n++;
    }
    assert_int_equal(n, 4);
    vitte_trace_reader_close(r);
}

static uint64_t file_size(const char *p)
{
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return (uint64_t)st.st_size;
}

static void copy_prefix(const char *from, const char *to, uint64_t n)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    assert_non_null(a);
    assert_non_null(b);
    for (uint64_t i = 0; i < n; i++) {
        int c = fgetc(a);
        assert_true(c != EOF);
        fputc(c, b);
    }
    fclose(a);
    fclose(b);
}

/* Cut anywhere: every sample of a complete chunk is returned, then
 * VITTE_ETRUNCATED; never a crash, never a wrong frame. */
static void test_truncated_anywhere(void **state)
{
    (void)state;
    vitte__profw *w = open_w(5);
    vitte__profw_mapping(w, 5, 0x1000, 0x9000, 0, "/no/lib", NULL, 0);
    uint64_t ips[4] = {0x1100, 0x2201, 0x3301, 0x4401};
    for (int i = 0; i < 300; i++) {
        ips[0] = 0x1100 + (uint64_t)(i % 17);
        vitte__profw_sample(w, 5, 5, 1000 + (uint64_t)i, 7, VITTE_SAMPLE_CPU, ips, 4);
        if (i % 50 == 49)
            vitte__profw_flush(w);
    }
    assert_int_equal(vitte__profw_close(w, 0), VITTE_OK);
    uint64_t size = file_size(g_path);
    char cut[300];
    snprintf(cut, sizeof cut, "%s.cut", g_path);
    int last = -1;
    for (uint64_t n = 64; n < size; n += 7) {
        copy_prefix(g_path, cut, n);
        struct got g;
        vitte_diag d;
        int rc = read_all(cut, &g, &d);
        assert_true(rc == VITTE_ETRUNCATED || rc == VITTE_EFORMAT);
        assert_true(g.n >= last); /* more file, never fewer samples */
        assert_true(g.n % 50 == 0);
        assert_int_equal(g.weight, (uint64_t)g.n * 7);
        if (g.n > 0)
            assert_int_equal(g.first_n, 4);
        last = g.n;
    }
    assert_int_equal(last, 300);
    unlink(cut);
}

/* A flipped byte in a SAMPLES chunk: that chunk is reported and skipped,
 * the others are read. */
static void test_corrupt_chunk(void **state)
{
    (void)state;
    vitte__profw *w = open_w(5);
    vitte__profw_mapping(w, 5, 0x1000, 0x9000, 0, "/no/lib", NULL, 0);
    const uint64_t ip = 0x1100;
    for (int i = 0; i < 100; i++) {
        vitte__profw_sample(w, 5, 5, 1000 + (uint64_t)i, 1, VITTE_SAMPLE_CPU, &ip, 1);
        if (i % 25 == 24)
            vitte__profw_flush(w);
    }
    assert_int_equal(vitte__profw_close(w, 0), VITTE_OK);
    /* Find the second SAMPLES chunk and flip a payload byte. */
    FILE *f = fopen(g_path, "r+b");
    assert_non_null(f);
    unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    size_t off = 64;
    int seen = 0;
    while (off + 24 <= n) {
        uint32_t stored = vitte__get_u32(buf + off + 8);
        if (buf[off + 4] == VITTE__CH_SAMPLES && ++seen == 2) {
            buf[off + 24 + stored / 2] ^= 0x40;
            break;
        }
        off += 24 + stored;
    }
    assert_int_equal(seen, 2);
    fseek(f, 0, SEEK_SET);
    fwrite(buf, 1, n, f);
    fclose(f);
    vitte_trace_reader *r;
    vitte_diag d;
    assert_int_equal(vitte_trace_reader_open(g_path, 0, &r, &d), VITTE_OK);
    const vitte_trace_event *e;
    int got = 0, errors = 0, rc;
    while ((rc = vitte_trace_reader_next(r, &e, &d)) != 0) {
        if (rc < 0) {
            assert_int_equal(rc, VITTE_EFORMAT);
            errors++;
            continue;
        }
        got++;
    }
    assert_int_equal(errors, 1);
    assert_int_equal(got, 75);
    vitte_trace_reader_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_placeholders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symbols_at_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_and_pids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_anywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_chunk, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
