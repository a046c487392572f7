/* The symbolizer (src/prof/symbolize.h): functions of this executable,
 * inlined frames, shared libraries (.dynsym), stripped copies, separate
 * debug files (build-id directory, .gnu_debuglink, DIR/basename), build-id
 * checks, the vDSO, C++ names, and addresses that must give nothing.
 *
 * Needs -g (tests/unit/symbolize.cmake) and objcopy for the stripped copies
 * (those tests are skipped without it). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vitte/vitte.h>

#include "prof/symbolize.h"

extern char **environ;

#if defined(__clang__)
#define NOIPA __attribute__((noinline, used))
#else
#define NOIPA __attribute__((noinline, noipa, used))
#endif
#define INLINE static inline __attribute__((always_inline))

/* ---- the functions symbolized --------------------------------------------- */

static volatile uintptr_t g_ra;
static volatile int g_line_inner, g_line_mid, g_line_outer;

NOIPA static void capture(int line)
{
    g_ra = (uintptr_t)__builtin_return_address(0);
    g_line_inner = line;
}

INLINE int inl_inner(int x)
{
    capture(__LINE__);
    return x * 7;
}

INLINE int inl_mid(int x)
{
    int r = (g_line_mid = __LINE__, inl_inner(x + 1));
    return r - 3;
}

enum { OUTER1_BEGIN = __LINE__ };
NOIPA static int outer1(int x)
{
    int r = (g_line_outer = __LINE__, inl_inner(x));
    return r + 1;
}
enum { OUTER1_END = __LINE__ };

NOIPA static int outer2(int x)
{
    int r = (g_line_outer = __LINE__, inl_mid(x));
    return r + 5;
}

static const char rodata_text[] = "not code: a string in .rodata";

/* ---- helpers ------------------------------------------------------------ */

/* The mapping of addr in /proc/self/maps: its path and addr's file offset. */
static int map_of(const void *addr, char *path, size_t cap, uint64_t *off)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        return 0;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi, pgoff;
        int pos = 0;
        if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &lo, &hi, &pgoff, &pos) < 3)
            continue;
        if ((uintptr_t)addr < lo || (uintptr_t)addr >= hi)
            continue;
        char *p = line + pos;
        p[strcspn(p, "\n")] = '\0';
        snprintf(path, cap, "%s", p);
        *off = (uintptr_t)addr - lo + pgoff;
        found = 1;
    }
    fclose(f);
    return found;
}

static int run(const char *const argv[])
{
    pid_t pid;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char exe_path[4096];
static uint8_t exe_bid[64];
static int exe_bid_len;
static char tmpdir[256];

static uint64_t exe_offset(const void *addr)
{
    char path[4096];
    uint64_t off = 0;
    assert_true(map_of(addr, path, sizeof path, &off));
    assert_string_equal(path, exe_path);
    return off;
}

static const char *base(const char *file)
{
    const char *p = strrchr(file, '/');
    return p != NULL ? p + 1 : file;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

static int setup(void **state)
{
    (void)state;
    uint64_t off;
    if (!map_of((const void *)(uintptr_t)outer1, exe_path, sizeof exe_path, &off))
        return -1;
    exe_bid_len = vitte__elf_build_id(exe_path, exe_bid, sizeof exe_bid);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vitte_symtest_XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    const char *argv[] = {"rm", "-rf", tmpdir, NULL};
    run(argv);
    return 0;
}

/* Frames of the return address left by capture() (the call inside
 * inl_inner), in the module at path. */
static int frames_of_ra(vitte__symbolizer *s, const char *path, const vitte__symframe **f)
{
    uint64_t off = exe_offset((const void *)(g_ra - 1));
    return vitte__symbolize(s, path, NULL, 0, off, f);
}

static void check_one_level(const vitte__symframe *f, int n)
{
    assert_int_equal(n, 2);
    assert_string_equal(f[0].function, "inl_inner");
    assert_string_equal(base(f[0].file), "test_symbolize.c");
    assert_int_equal(f[0].line, g_line_inner);
    assert_int_equal(f[0].inlined, 1);
    assert_string_equal(f[1].function, "outer1");
    assert_string_equal(base(f[1].file), "test_symbolize.c");
    assert_int_equal(f[1].line, g_line_outer);
    assert_int_equal(f[1].inlined, 0);
}

/* ---- tests ------------------------------------------------------------- */

static void test_basename(void **state)
{
    (void)state;
    assert_string_equal(vitte__module_basename("/usr/lib/libc.so.6"), "libc.so.6");
    assert_string_equal(vitte__module_basename("libc.so.6"), "libc.so.6");
    assert_string_equal(vitte__module_basename("[vdso]"), "[vdso]");
    assert_string_equal(vitte__module_basename(""), "");
}

static void test_build_id(void **state)
{
    (void)state;
    assert_true(exe_bid_len >= 8);
    uint8_t small[4];
    assert_int_equal(vitte__elf_build_id(exe_path, small, sizeof small), exe_bid_len);
    assert_memory_equal(small, exe_bid, sizeof small);
    assert_true(vitte__elf_build_id("/nonexistent/vitte/x", NULL, 0) < 0);
    char txt[300];
    snprintf(txt, sizeof txt, "%s/text", tmpdir);
    FILE *f = fopen(txt, "w");
    assert_non_null(f);
    fputs("not an ELF file\n", f);
    fclose(f);
    assert_true(vitte__elf_build_id(txt, NULL, 0) < 0);
}

static void test_function_entry(void **state)
{
    (void)state;
    vitte__symbolizer *s = vitte__symbolizer_create(NULL);
    assert_non_null(s);
    const vitte__symframe *f;
    uint64_t off = exe_offset((const void *)(uintptr_t)outer1);
    int n = vitte__symbolize(s, exe_path, exe_bid, (size_t)exe_bid_len, off, &f);
    assert_int_equal(n, 1);
    assert_string_equal(f[0].function, "outer1");
    assert_string_equal(base(f[0].file), "test_symbolize.c");
    assert_in_range(f[0].line, OUTER1_BEGIN, OUTER1_END);
    assert_int_equal(f[0].inlined, 0);
    /* Cached: the same answer again. */
    const vitte__symframe *g;
    assert_int_equal(vitte__symbolize(s, exe_path, exe_bid, (size_t)exe_bid_len, off, &g), 1);
    assert_ptr_equal(f, g);
    assert_null(vitte__symbolizer_module_problem(s, exe_path));
    vitte__symbolizer_destroy(s);
}

static void test_inlined(void **state)
{
    (void)state;
    vitte__symbolizer *s = vitte__symbolizer_create(NULL);
    assert_non_null(s);
    const vitte__symframe *f;

    assert_int_equal(outer1(3), 22);
    int n = frames_of_ra(s, exe_path, &f);
    check_one_level(f, n);

    assert_int_equal(outer2(3), 30);
    n = frames_of_ra(s, exe_path, &f);
    assert_int_equal(n, 3);
    assert_string_equal(f[0].function, "inl_inner");
    assert_int_equal(f[0].line, g_line_inner);
    assert_int_equal(f[0].inlined, 1);
    assert_string_equal(f[1].function, "inl_mid");
    assert_string_equal(base(f[1].file), "test_symbolize.c");
    assert_int_equal(f[1].line, g_line_mid);
    assert_int_equal(f[1].inlined, 1);
    assert_string_equal(f[2].function, "outer2");
    assert_int_equal(f[2].line, g_line_outer);
    assert_int_equal(f[2].inlined, 0);
    vitte__symbolizer_destroy(s);
}

static void check_shared(vitte__symbolizer *s, const char *lib, const char *sym, const char *want)
{
    void *h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
    if (h == NULL)
        h = dlopen(lib, RTLD_LAZY);
    assert_non_null(h);
    void *fn = dlsym(h, sym);
    assert_non_null(fn);
    char path[4096];
    uint64_t off;
    assert_true(map_of(fn, path, sizeof path, &off));
    const vitte__symframe *f;
    for (uint64_t d = 0; d < 2; d++) {
        int n = vitte__symbolize(s, path, NULL, 0, off + d, &f);
        assert_true(n >= 1);
        assert_string_equal(f[n - 1].function, want);
    }
    assert_null(vitte__symbolizer_module_problem(s, path));
    /* Just past the symbol's st_size: never this name. */
    Dl_info info;
    const ElfW(Sym) *es = NULL;
    if (dladdr1(fn, &info, (void **)&es, RTLD_DL_SYMENT) != 0 && es != NULL && es->st_size > 0) {
        int n = vitte__symbolize(s, path, NULL, 0, off + es->st_size, &f);
        for (int k = 0; k < n; k++)
            assert_string_not_equal(f[k].function, want);
    }
    dlclose(h);
}

static void test_shared_library(void **state)
{
    (void)state;
    int fds = count_fds();
    vitte__symbolizer *s = vitte__symbolizer_create(NULL);
    assert_non_null(s);
    /* libc (DWARF when libc6-dbg is installed, .dynsym otherwise), zlib
     * (.dynsym only), and a C++ name from libstdc++, demangled. */
    check_shared(s, "libc.so.6", "qsort", "qsort");
    check_shared(s, "libz.so.1", "crc32", "crc32");
    void *h = dlopen("libstdc++.so.6", RTLD_LAZY);
    if (h != NULL) {
        dlclose(h);
        check_shared(s, "libstdc++.so.6", "_ZNSt9exceptionD1Ev", "std::exception::~exception()");
    }
    /* The modules stay loaded but hold no file descriptors. */
    assert_int_equal(count_fds(), fds);
    vitte__symbolizer_destroy(s);
}

static void test_vdso(void **state)
{
    (void)state;
    void *h = dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD);
    void *fn = h != NULL ? dlsym(h, "__vdso_clock_gettime") : NULL;
    if (fn == NULL)
        skip();
    char path[4096];
    uint64_t off;
    assert_true(map_of(fn, path, sizeof path, &off));
    assert_string_equal(path, "[vdso]");
    uint8_t bid[64];
    int bl = vitte__elf_build_id("[vdso]", bid, sizeof bid);
    assert_true(bl >= 0);

    vitte__symbolizer *s = vitte__symbolizer_create(NULL);
    assert_non_null(s);
    const vitte__symframe *f;
    for (int with_bid = 0; with_bid < 2; with_bid++) {
        int n = vitte__symbolize(s, "[vdso]", with_bid ? bid : NULL, with_bid ? (size_t)bl : 0,
                                 off + 4, &f);
        assert_true(n >= 1);
        const char *name = f[n - 1].function;
        assert_true(strcmp(name, "__vdso_clock_gettime") == 0 ||
                    strcmp(name, "clock_gettime") == 0);
    }
    if (bl > 0) {
        uint8_t wrong[64];
        memcpy(wrong, bid, (size_t)bl);
        wrong[0] ^= 0xff;
        assert_int_equal(vitte__symbolize(s, "[vdso]", wrong, (size_t)bl, off + 4, &f), 0);
        assert_string_equal(vitte__symbolizer_module_problem(s, "[vdso]"), "build id differs");
    }
    vitte__symbolizer_destroy(s);
    dlclose(h);
}

static void test_wrong_build_id(void **state)
{
    (void)state;
    vitte__symbolizer *s = vitte__symbolizer_create(NULL);
    assert_non_null(s);
    uint8_t wrong[20];
    memset(wrong, 0x5a, sizeof wrong);
    const vitte__symframe *f = (const vitte__symframe *)1;
    uint64_t off = exe_offset((const void *)(uintptr_t)outer1);
    assert_int_equal(vitte__symbolize(s, exe_path, wrong, sizeof wrong, off, &f), 0);
    assert_null(f);
    assert_string_equal(vitte__symbolizer_module_problem(s, exe_path), "build id differs");
    vitte__symbolizer_destroy(s);
}

static void test_nothing_there(void **state)
{
    (void)state;
    vitte__symbolizer *s = vitte__symbolizer_create(NULL);
    assert_non_null(s);
    const vitte__symframe *f;
    assert_null(vitte__symbolizer_module_problem(s, "/nonexistent/vitte/x"));
    assert_int_equal(vitte__symbolize(s, "/nonexistent/vitte/x", NULL, 0, 0x1234, &f), 0);
    assert_string_equal(vitte__symbolizer_module_problem(s, "/nonexistent/vitte/x"),
                        "no such file");
    assert_int_equal(vitte__symbolize(s, "[heap]", NULL, 0, 0x10, &f), 0);
    assert_non_null(vitte__symbolizer_module_problem(s, "[heap]"));
    /* Garbage offsets in a good module: beyond the file, the ELF header,
     * read-only data. */
    assert_int_equal(vitte__symbolize(s, exe_path, NULL, 0, UINT64_MAX - 5, &f), 0);
    assert_int_equal(vitte__symbolize(s, exe_path, NULL, 0, 1ull << 40, &f), 0);
    assert_int_equal(vitte__symbolize(s, exe_path, NULL, 0, 0, &f), 0);
    assert_int_equal(vitte__symbolize(s, exe_path, NULL, 0, exe_offset(rodata_text), &f), 0);
    assert_null(vitte__symbolizer_module_problem(s, exe_path));
    vitte__symbolizer_destroy(s);
}

static void test_deleted(void **state)
{
    (void)state;
    /* "/x (deleted)" in the maps: "/x" is used only with a matching build id. */
    char path[8192];
    snprintf(path, sizeof path, "%s (deleted)", exe_path);
    vitte__symbolizer *s = vitte__symbolizer_create(NULL);
    assert_non_null(s);
    const vitte__symframe *f;
    uint64_t off = exe_offset((const void *)(uintptr_t)outer1);
    assert_int_equal(vitte__symbolize(s, path, NULL, 0, off, &f), 0);
    assert_int_equal(vitte__symbolize(s, path, exe_bid, (size_t)exe_bid_len, off, &f), 1);
    assert_string_equal(f[0].function, "outer1");
    vitte__symbolizer_destroy(s);
}

/* A copy of this executable made by objcopy with extra arguments. */
static int objcopy(const char *const *args, size_t n, const char *in, const char *out)
{
    const char *argv[16];
    size_t k = 0;
    argv[k++] = "objcopy";
    for (size_t i = 0; i < n; i++)
        argv[k++] = args[i];
    argv[k++] = in;
    argv[k++] = out;
    argv[k] = NULL;
    return run(argv) == 0;
}

static void mkdirs(const char *path)
{
    const char *argv[] = {"mkdir", "-p", path, NULL};
    assert_int_equal(run(argv), 0);
}

/* "DIR/.build-id/xx/" and "yyyy" of this executable's build id. */
static void bid_parts(char *dir, size_t cap, const char *root, char *rest, size_t rcap)
{
    int k = snprintf(dir, cap, "%s/.build-id/%02x", root, exe_bid[0]);
    assert_true(k > 0 && (size_t)k < cap);
    rest[0] = '\0';
    for (int i = 1; i < exe_bid_len && (size_t)(2 * i) < rcap; i++)
        snprintf(rest + 2 * (i - 1), 3, "%02x", exe_bid[i]);
}

static void test_stripped_and_debug_files(void **state)
{
    (void)state;
    char stripped[512], dbgroot[512], dbgdir[512], rest[200], dbgfile[1024];
    snprintf(stripped, sizeof stripped, "%s/stripped", tmpdir);
    const char *strip_all[] = {"--strip-all"};
    if (!objcopy(strip_all, 1, exe_path, stripped))
        skip(); /* no objcopy */
    assert_int_equal(outer1(4), 29);
    uint64_t ra_off = exe_offset((const void *)(g_ra - 1));
    uint64_t fn_off = exe_offset((const void *)(uintptr_t)outer1);

    /* Stripped, nothing else: no name at all (never a wrong one). */
    vitte__symbolizer *s = vitte__symbolizer_create(NULL);
    assert_non_null(s);
    const vitte__symframe *f;
    assert_int_equal(vitte__symbolize(s, stripped, NULL, 0, ra_off, &f), 0);
    assert_int_equal(vitte__symbolize(s, stripped, NULL, 0, fn_off, &f), 0);
    assert_string_equal(vitte__symbolizer_module_problem(s, stripped), "no symbols");
    vitte__symbolizer_destroy(s);

    /* The debug file in DIR/.build-id/xx/yyyy.debug. */
    snprintf(dbgroot, sizeof dbgroot, "%s/dbg", tmpdir);
    bid_parts(dbgdir, sizeof dbgdir, dbgroot, rest, sizeof rest);
    mkdirs(dbgdir);
    snprintf(dbgfile, sizeof dbgfile, "%s/%s.debug", dbgdir, rest);
    const char *keep_debug[] = {"--only-keep-debug"};
    assert_true(objcopy(keep_debug, 1, exe_path, dbgfile));
    const char *dirs[] = {"/nonexistent/vitte", dbgroot};
    vitte__symbolizer_options o = {dirs, 2};
    s = vitte__symbolizer_create(&o);
    assert_non_null(s);
    int n = vitte__symbolize(s, stripped, NULL, 0, ra_off, &f);
    check_one_level(f, n);
    assert_int_equal(vitte__symbolize(s, stripped, NULL, 0, fn_off, &f), 1);
    assert_string_equal(f[0].function, "outer1");
    assert_null(vitte__symbolizer_module_problem(s, stripped));
    /* The debug file alone cannot map offsets: the binary is needed. */
    assert_int_equal(
        vitte__symbolize(s, "/nonexistent/vitte/prog", exe_bid, (size_t)exe_bid_len, fn_off, &f),
        0);
    assert_string_equal(vitte__symbolizer_module_problem(s, "/nonexistent/vitte/prog"),
                        "no loadable code (debug information only)");
    vitte__symbolizer_destroy(s);

    /* Another ELF file under that build id: rejected, so nothing. */
    char other[512], libc_path[4096];
    uint64_t unused;
    void *h = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    assert_true(map_of(dlsym(h, "qsort"), libc_path, sizeof libc_path, &unused));
    dlclose(h);
    snprintf(other, sizeof other, "%s/other", tmpdir);
    mkdirs(other);
    bid_parts(dbgdir, sizeof dbgdir, other, rest, sizeof rest);
    mkdirs(dbgdir);
    snprintf(dbgfile, sizeof dbgfile, "%s/%s.debug", dbgdir, rest);
    const char *cp[] = {"cp", libc_path, dbgfile, NULL};
    assert_int_equal(run(cp), 0);
    const char *odirs[] = {other};
    vitte__symbolizer_options oo = {odirs, 1};
    s = vitte__symbolizer_create(&oo);
    assert_non_null(s);
    assert_int_equal(vitte__symbolize(s, stripped, NULL, 0, ra_off, &f), 0);
    assert_int_equal(vitte__symbolize(s, stripped, NULL, 0, fn_off, &f), 0);
    vitte__symbolizer_destroy(s);

    /* .gnu_debuglink next to the file. */
    char linked[512], linkdbg[512];
    snprintf(linked, sizeof linked, "%s/linked", tmpdir);
    snprintf(linkdbg, sizeof linkdbg, "%s/linked.dbg", tmpdir);
    assert_true(objcopy(keep_debug, 1, exe_path, linkdbg));
    char addlink[600];
    snprintf(addlink, sizeof addlink, "--add-gnu-debuglink=%s", linkdbg);
    const char *strip_link[] = {"--strip-all", addlink};
    assert_true(objcopy(strip_link, 2, exe_path, linked));
    s = vitte__symbolizer_create(NULL);
    assert_non_null(s);
    n = vitte__symbolize(s, linked, NULL, 0, ra_off, &f);
    check_one_level(f, n);
    vitte__symbolizer_destroy(s);

    /* DIR/<basename>: an unstripped copy found for a path that is gone. */
    char copydir[512], copy[8192], gone[8192];
    snprintf(copydir, sizeof copydir, "%s/copies", tmpdir);
    mkdirs(copydir);
    snprintf(copy, sizeof copy, "%s/%s", copydir, base(exe_path));
    const char *cp2[] = {"cp", exe_path, copy, NULL};
    assert_int_equal(run(cp2), 0);
    snprintf(gone, sizeof gone, "/nonexistent/vitte/%s", base(exe_path));
    const char *cdirs[] = {copydir};
    vitte__symbolizer_options co = {cdirs, 1};
    s = vitte__symbolizer_create(&co);
    assert_non_null(s);
    n = vitte__symbolize(s, gone, exe_bid, (size_t)exe_bid_len, ra_off, &f);
    check_one_level(f, n);
    vitte__symbolizer_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basename),       cmocka_unit_test(test_build_id),
        cmocka_unit_test(test_function_entry), cmocka_unit_test(test_inlined),
        cmocka_unit_test(test_shared_library), cmocka_unit_test(test_vdso),
        cmocka_unit_test(test_wrong_build_id), cmocka_unit_test(test_nothing_there),
        cmocka_unit_test(test_deleted),        cmocka_unit_test(test_stripped_and_debug_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
