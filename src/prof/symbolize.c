/* The symbolizer of symbolize.h: ELF symbol tables (libelf) and DWARF
 * (libdw), with per-module indexes built once and a per-address cache.
 *
 * A module is loaded on its first address: the files that describe it are
 * found (options' directories, the mapped path, .gnu_debuglink,
 * /usr/lib/debug/.build-id), checked against the build id and kept (mapped;
 * their descriptors are closed once the module is loaded) until the
 * symbolizer is destroyed, because every name and file returned points into
 * their string tables or into libdw's line tables.  Details, rules and
 * costs: docs/symbolization.md.
 *
 * Per module:
 *   - loads:  the PT_LOAD segments of the file (file offset -> vaddr);
 *   - funcs:  the function symbols of .symtab and .dynsym, sorted by address,
 *             one per address, each with the innermost sized symbol that
 *             contains it ("container") for nested symbols;
 *   - cus:    the DWARF compile units, with their address ranges (curs); a
 *             unit is indexed on the first address that falls in it: its
 *             subprograms and inlined subroutines become nodes (an inlined
 *             node points to the node it was inlined into), and their pc
 *             ranges are cut into disjoint sorted segments, each naming the
 *             innermost node that covers it;
 *   - answers: (file offset -> frames) for every address asked.
 *
 * Resolving an address is then: segment of the offset, binary search in the
 * unit ranges, binary search in the unit's segments, walk up the node chain
 * (inlined frames), one line-table lookup (libdw caches the unit's table)
 * for the innermost frame; outer frames take DW_AT_call_file/call_line of
 * the node inside them.
 *
 * libdwfl is not used, so debuginfod is never consulted: every file is
 * found here, in the places listed in symbolize.h. */
#include "prof/symbolize.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vitte/common.h>
#include <zlib.h>

#include "common/alloc.h"
#include "common/strmap.h"

#define SYM_PATH_MAX   4096
#define SYM_CHUNK      (64u * 1024u)
#define SYM_MAX_NEST   512 /* DIE nesting followed while indexing a unit */
#define SYM_SYSTEM_DBG "/usr/lib/debug"

/* Flags of a candidate file. */
#define CAND_DEBUGLINK 1u /* found through .gnu_debuglink: check its CRC when no build id */

enum { CU_NEW, CU_INDEXED, CU_BAD };

typedef char *(*sym_demangle_fn)(const char *mangled, char *buf, size_t *len, int *status);

typedef struct sym_chunk {
    struct sym_chunk *next;
    size_t used, cap;
} sym_chunk;
#define SYM_CHUNK_HDR ((sizeof(sym_chunk) + 15u) & ~(size_t)15u)

typedef struct sym_file {
    struct sym_file *next;
    int fd; /* -1: in memory (the vDSO) */
    Elf *elf;
    void *image; /* the vDSO copy, or NULL */
    char *path;
} sym_file;

typedef struct sym_load {
    uint64_t off, end, vaddr; /* file range [off, end) at vaddr */
    int exec;
} sym_load;

typedef struct sym_func {
    uint64_t addr, size;
    uint64_t bound;    /* end of its section: a size-0 symbol stops there */
    const char *name;  /* in the ELF string table */
    const char *shown; /* demangled, set on first use */
    int32_t container; /* innermost sized symbol holding addr, or -1 */
    uint8_t rank;      /* binding: 0 global, 1 weak, 2 local */
} sym_func;

typedef struct sym_node {
    Dwarf_Die die;
    const char *name; /* NULL: not looked up yet; sym_noname: none */
    int32_t parent;   /* node this one was inlined into, or -1 (a subprogram) */
    uint32_t call_file, call_line;
} sym_node;

typedef struct sym_seg {
    uint64_t lo, hi;
    uint32_t node;
} sym_seg;

typedef struct sym_cu {
    Dwarf_Die die;
    sym_node *nodes;
    size_t n_nodes;
    sym_seg *segs;
    size_t n_segs;
    Dwarf_Files *files;
    size_t n_files;
    uint8_t state;
    uint8_t files_state; /* 0 not read, 1 read, 2 none */
    uint8_t assembler;   /* written in assembler: symbol names are better */
} sym_cu;

typedef struct sym_curange {
    uint64_t lo, hi;
    uint32_t cu;
} sym_curange;

typedef struct sym_answer {
    uint64_t off;
    const vitte__symframe *frames;
    int32_t n; /* -1: empty slot */
} sym_answer;

typedef struct sym_module {
    struct sym_module *next;
    char *path;
    uint8_t *bid; /* as given (NULL when bid_len is 0) */
    size_t bid_len;
    uint8_t *want; /* the build id every file must have: given or learnt */
    size_t want_len;
    int loaded;
    const char *problem;
    sym_file *files;
    Elf *main; /* program headers (and .dynsym) */
    const char *main_path;
    Elf *symtab; /* the file whose .symtab is used */
    Dwarf *dw;
    Dwarf *alt; /* set with dwarf_setalt: ended here */
    sym_load *loads;
    size_t n_loads;
    uint64_t text_lo, text_hi;
    sym_func *funcs;
    size_t n_funcs;
    sym_cu *cus;
    size_t n_cus;
    sym_curange *curs;
    size_t n_curs;
    sym_answer *answers;
    size_t ans_cap, ans_n;
    uint8_t seen_file, seen_bid_mismatch, seen_not_elf, no_vdso;
} sym_module;

struct vitte__symbolizer {
    char **dirs;
    size_t n_dirs;
    struct vitte__strmap mods;
    sym_module *first;
    sym_module *last; /* the module of the previous call */
    sym_chunk *chunks;
    vitte__symframe *tmp; /* frames of the address being resolved */
    size_t tmp_cap;
    int demangle_state; /* 0 not looked up, 1 found, 2 none */
    sym_demangle_fn demangle;
    void *demangle_lib;
};

static const char sym_noname[] = "";
static const char sym_unknown[] = "??";

/* ---- small helpers ----------------------------------------------------- */

static int grow_array(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return VITTE_OK;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > SIZE_MAX / 2)
            return VITTE_ENOMEM;
        nc *= 2;
    }
    if (nc > SIZE_MAX / elem)
        return VITTE_ENOMEM;
    void *q = vitte__realloc(*p, nc * elem);
    if (q == NULL)
        return VITTE_ENOMEM;
    *p = q;
    *cap = nc;
    return VITTE_OK;
}

static void *arena_alloc(vitte__symbolizer *s, size_t size)
{
    size = (size + 15u) & ~(size_t)15u;
    sym_chunk *c = s->chunks;
    if (c == NULL || c->cap - c->used < size) {
        size_t cap = size > SYM_CHUNK / 4 ? size : SYM_CHUNK;
        c = vitte__malloc(SYM_CHUNK_HDR + cap);
        if (c == NULL)
            return NULL;
        c->used = 0;
        c->cap = cap;
        if (size > SYM_CHUNK / 4 && s->chunks != NULL) {
            /* A big block goes behind the current chunk, which stays in use. */
            c->next = s->chunks->next;
            s->chunks->next = c;
        } else {
            c->next = s->chunks;
            s->chunks = c;
        }
    }
    void *p = (char *)c + SYM_CHUNK_HDR + c->used;
    c->used += size;
    return p;
}

static char *arena_strdup(vitte__symbolizer *s, const char *str)
{
    size_t n = strlen(str) + 1;
    char *p = arena_alloc(s, n);
    if (p != NULL)
        memcpy(p, str, n);
    return p;
}

/* "dir/rest" into buf; 0 when it does not fit. */
static int join_path(char *buf, const char *a, const char *b, const char *c)
{
    int n = snprintf(buf, SYM_PATH_MAX, "%s%s%s", a, b, c != NULL ? c : "");
    return n > 0 && n < SYM_PATH_MAX;
}

/* DIR/.build-id/xx/yyyy + suffix */
static int build_id_path(char *buf, const char *dir, const uint8_t *id, size_t len,
                         const char *suffix)
{
    static const char hex[] = "0123456789abcdef";
    char name[2 * 256 + 2];
    if (len < 2 || len > 256)
        return 0;
    size_t k = 0;
    name[k++] = hex[id[0] >> 4];
    name[k++] = hex[id[0] & 15];
    name[k++] = '/';
    for (size_t i = 1; i < len; i++) {
        name[k++] = hex[id[i] >> 4];
        name[k++] = hex[id[i] & 15];
    }
    name[k] = '\0';
    int n = snprintf(buf, SYM_PATH_MAX, "%s/.build-id/%s%s", dir, name, suffix);
    return n > 0 && n < SYM_PATH_MAX;
}

const char *vitte__module_basename(const char *path)
{
    if (path == NULL)
        return "";
    if (path[0] == '[')
        return path; /* "[vdso]", "[anon:...]" */
    const char *p = strrchr(path, '/');
    return p != NULL && p[1] != '\0' ? p + 1 : path;
}

/* ---- C++ names ------------------------------------------------------------ */

/* The demangled form of name (kept in the arena), or name itself. */
static const char *demangle(vitte__symbolizer *s, const char *name)
{
    if (name[0] != '_' || name[1] != 'Z')
        return name;
    if (s->demangle_state == 0) {
        void *f = dlsym(RTLD_DEFAULT, "__cxa_demangle");
        if (f == NULL) {
            void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_NOLOAD);
            if (h == NULL)
                h = dlopen("libstdc++.so.6", RTLD_LAZY);
            if (h != NULL) {
                f = dlsym(h, "__cxa_demangle");
                if (f == NULL)
                    dlclose(h);
                else
                    s->demangle_lib = h;
            }
        }
        if (f != NULL) {
            memcpy(&s->demangle, &f, sizeof s->demangle);
            s->demangle_state = 1;
        } else {
            s->demangle_state = 2;
        }
    }
    if (s->demangle_state != 1)
        return name;
    int status = -1;
    char *d = s->demangle(name, NULL, NULL, &status);
    const char *out = name;
    if (d != NULL && status == 0) {
        char *copy = arena_strdup(s, d);
        if (copy != NULL)
            out = copy;
    }
    free(d); /* __cxa_demangle allocates with the C library's malloc */
    return out;
}

/* ---- the vDSO ----------------------------------------------------------- */

#if UINTPTR_MAX > 0xffffffffu
typedef Elf64_Ehdr sym_ehdr;
typedef Elf64_Phdr sym_phdr;
#else
typedef Elf32_Ehdr sym_ehdr;
typedef Elf32_Phdr sym_phdr;
#endif

/* The end of the "[vdso]" mapping that starts at base (from /proc/self/maps),
 * or 0 when not found. */
static uintptr_t vdso_mapping_end(uintptr_t base)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (f == NULL)
        return 0;
    char line[512];
    uintptr_t end = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo == base && strstr(line, "[vdso]")) {
            end = hi;
            break;
        }
    }
    fclose(f);
    return end;
}

/* A copy of this process's vDSO image (vitte__free it), or NULL. */
static void *vdso_copy(size_t *len)
{
    uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
    if (base == 0)
        return NULL;
    const sym_ehdr *eh = (const sym_ehdr *)base;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
        return NULL;
    uint64_t size = (uint64_t)eh->e_shoff + (uint64_t)eh->e_shnum * eh->e_shentsize;
    uint64_t ph_end = (uint64_t)eh->e_phoff + (uint64_t)eh->e_phnum * eh->e_phentsize;
    if (ph_end > size)
        size = ph_end;
    uintptr_t map_end = vdso_mapping_end(base);
    if (map_end != 0 && eh->e_phentsize == sizeof(sym_phdr) && ph_end <= map_end - base) {
        const sym_phdr *ph = (const sym_phdr *)(base + eh->e_phoff);
        for (unsigned i = 0; i < eh->e_phnum; i++)
            if (ph[i].p_type == PT_LOAD && ph[i].p_offset + ph[i].p_filesz > size)
                size = ph[i].p_offset + ph[i].p_filesz;
    }
    if (map_end != 0 && size > map_end - base)
        size = map_end - base; /* never read past the mapping */
    if (size < sizeof *eh || size > (64u << 20))
        return NULL;
    void *img = vitte__malloc((size_t)size);
    if (img == NULL)
        return NULL;
    memcpy(img, (const void *)base, (size_t)size);
    *len = (size_t)size;
    return img;
}

/* ---- build ids ------------------------------------------------------------ */

/* Does the build id of elf match want?  A want of 16+ bytes that is a prefix
 * of the file's id matches too (tools that keep only 20 bytes). */
static int build_id_matches(Elf *elf, const uint8_t *want, size_t want_len)
{
    const void *b = NULL;
    ssize_t bl = dwelf_elf_gnu_build_id(elf, &b);
    if (bl <= 0 || b == NULL)
        return 0;
    if ((size_t)bl == want_len)
        return memcmp(b, want, want_len) == 0;
    return want_len >= 16 && (size_t)bl > want_len && memcmp(b, want, want_len) == 0;
}

int vitte__elf_build_id(const char *path, uint8_t *out, size_t cap)
{
    if (path == NULL)
        return VITTE_EINVAL;
    elf_version(EV_CURRENT);
    int fd = -1;
    void *img = NULL;
    Elf *elf;
    if (strcmp(path, "[vdso]") == 0) {
        size_t len = 0;
        img = vdso_copy(&len);
        if (img == NULL)
            return VITTE_ENOENT;
        elf = elf_memory(img, len);
    } else {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            return VITTE_ENOENT;
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            close(fd);
            return VITTE_EFORMAT;
        }
        elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    }
    int rc = VITTE_EFORMAT;
    if (elf != NULL && elf_kind(elf) == ELF_K_ELF) {
        const void *b = NULL;
        ssize_t bl = dwelf_elf_gnu_build_id(elf, &b);
        if (bl > 0 && b != NULL && bl <= 0x7fffffff) {
            if (out != NULL)
                memcpy(out, b, (size_t)bl < cap ? (size_t)bl : cap);
            rc = (int)bl;
        } else {
            rc = 0;
        }
    }
    elf_end(elf);
    if (fd >= 0)
        close(fd);
    vitte__free(img);
    return rc;
}

/* ---- finding the files of a module -------------------------------------- */

static int crc_matches(int fd, uint32_t want)
{
    unsigned char *buf = vitte__malloc(1u << 16);
    if (buf == NULL)
        return 0;
    uLong crc = crc32(0L, Z_NULL, 0);
    off_t pos = 0;
    ssize_t n;
    while ((n = pread(fd, buf, 1u << 16, pos)) > 0) {
        crc = crc32(crc, buf, (uInt)n);
        pos += n;
    }
    vitte__free(buf);
    return n == 0 && (uint32_t)crc == want;
}

static int complete(const sym_module *m)
{
    return m->main != NULL && m->symtab != NULL && m->dw != NULL;
}

/* A dwz supplementary file (.gnu_debugaltlink) in the options' directories;
 * otherwise libdw looks in /usr/lib/debug/.build-id and next to the file
 * itself, without the network. */
static void find_alt(vitte__symbolizer *s, sym_module *m)
{
    const char *name = NULL;
    const void *id = NULL;
    ssize_t len = dwelf_dwarf_gnu_debugaltlink(m->dw, &name, &id);
    if (len <= 0 || s->n_dirs == 0)
        return;
    char buf[SYM_PATH_MAX];
    for (size_t i = 0; i < s->n_dirs; i++) {
        if (!build_id_path(buf, s->dirs[i], id, (size_t)len, ".debug"))
            continue;
        int fd = open(buf, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            continue;
        Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        Dwarf *alt = NULL;
        if (elf != NULL && build_id_matches(elf, id, (size_t)len))
            alt = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
        sym_file *f = alt != NULL ? vitte__calloc(1, sizeof *f) : NULL;
        if (f == NULL) {
            if (alt != NULL)
                dwarf_end(alt);
            elf_end(elf);
            close(fd);
            continue;
        }
        f->fd = fd;
        f->elf = elf;
        f->next = m->files;
        m->files = f;
        dwarf_setalt(m->dw, alt);
        m->alt = alt;
        return;
    }
}

/* Look at one ELF file (fd and elf owned from here on; image too) and keep
 * what the module still lacks from it. */
static int use_elf(vitte__symbolizer *s, sym_module *m, int fd, Elf *elf, void *image,
                   const char *path, unsigned flags, uint32_t crc)
{
    int keep = 0, rc = VITTE_OK;
    if (m->want_len > 0) {
        if (!build_id_matches(elf, m->want, m->want_len)) {
            m->seen_bid_mismatch = 1;
            goto out;
        }
    } else if ((flags & CAND_DEBUGLINK) && (fd < 0 || !crc_matches(fd, crc))) {
        goto out;
    }

    size_t shstrndx = 0, nsec = 0;
    int has_shstr = elf_getshdrstrndx(elf, &shstrndx) == 0;
    int has_symtab = 0, has_dwarf = 0, code = 0, nobits_code = 0;
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn != NULL; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) == NULL)
            continue;
        nsec++;
        if (sh.sh_type == SHT_SYMTAB && sh.sh_size > 0)
            has_symtab = 1;
        if ((sh.sh_flags & SHF_EXECINSTR) && sh.sh_size > 0) {
            if (sh.sh_type == SHT_NOBITS)
                nobits_code = 1;
            else
                code = 1;
        }
        if (has_shstr && sh.sh_type != SHT_NOBITS && sh.sh_size > 0) {
            const char *nm = elf_strptr(elf, shstrndx, sh.sh_name);
            if (nm != NULL && (strcmp(nm, ".debug_info") == 0 || strcmp(nm, ".zdebug_info") == 0))
                has_dwarf = 1;
        }
    }
    size_t nph = 0;
    int exec_load = 0;
    if (elf_getphdrnum(elf, &nph) == 0) {
        for (size_t i = 0; i < nph; i++) {
            GElf_Phdr ph;
            if (gelf_getphdr(elf, (int)i, &ph) != NULL && ph.p_type == PT_LOAD &&
                (ph.p_flags & PF_X) && ph.p_filesz > 0)
                exec_load = 1;
        }
    }
    /* A separate debug file keeps the program headers but not the code
     * (NOBITS, p_filesz 0): it cannot map file offsets. */
    int maps = exec_load && (nsec == 0 || (code && !nobits_code));

    if (m->main == NULL && maps) {
        m->main = elf;
        keep = 1;
        if (m->want_len == 0) {
            /* Learn the build id: later candidates must carry it. */
            const void *b = NULL;
            ssize_t bl = dwelf_elf_gnu_build_id(elf, &b);
            if (bl > 0 && b != NULL && (m->want = vitte__malloc((size_t)bl)) != NULL) {
                memcpy(m->want, b, (size_t)bl);
                m->want_len = (size_t)bl;
            }
        }
    }
    if (m->symtab == NULL && has_symtab) {
        m->symtab = elf;
        keep = 1;
    }
    if (m->dw == NULL && has_dwarf) {
        Dwarf *dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
        if (dw != NULL) {
            m->dw = dw;
            keep = 1;
            find_alt(s, m);
        }
    }
    if (keep) {
        sym_file *f = vitte__calloc(1, sizeof *f);
        char *p = vitte__strdup(path);
        if (f == NULL || p == NULL) {
            vitte__free(f);
            vitte__free(p);
            /* Undo what points at elf: module_reset() frees the rest. */
            if (m->main == elf)
                m->main = NULL;
            if (m->symtab == elf)
                m->symtab = NULL;
            if (m->dw != NULL && dwarf_getelf(m->dw) == elf) {
                dwarf_end(m->dw);
                m->dw = NULL;
            }
            keep = 0;
            rc = VITTE_ENOMEM;
        } else {
            f->fd = fd;
            f->elf = elf;
            f->image = image;
            f->path = p;
            f->next = m->files;
            m->files = f;
            if (m->main == elf)
                m->main_path = p;
        }
    }
out:
    if (!keep) {
        elf_end(elf);
        if (fd >= 0)
            close(fd);
        vitte__free(image);
    }
    return rc;
}

static int try_file(vitte__symbolizer *s, sym_module *m, const char *path, unsigned flags,
                    uint32_t crc)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return VITTE_OK;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return VITTE_OK;
    }
    m->seen_file = 1;
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (elf == NULL || elf_kind(elf) != ELF_K_ELF) {
        m->seen_not_elf = 1;
        elf_end(elf);
        close(fd);
        return VITTE_OK;
    }
    return use_elf(s, m, fd, elf, NULL, path, flags, crc);
}

static int try_vdso(vitte__symbolizer *s, sym_module *m)
{
    size_t len = 0;
    void *img = vdso_copy(&len);
    if (img == NULL) {
        m->no_vdso = 1;
        return VITTE_OK;
    }
    Elf *elf = elf_memory(img, len);
    if (elf == NULL || elf_kind(elf) != ELF_K_ELF) {
        elf_end(elf);
        vitte__free(img);
        m->no_vdso = 1;
        return VITTE_OK;
    }
    m->seen_file = 1;
    return use_elf(s, m, -1, elf, img, "[vdso]", 0, 0);
}

/* .gnu_debuglink: next to the file, in .debug/ beside it, and under
 * /usr/lib/debug with the file's directory. */
static int try_debuglink(vitte__symbolizer *s, sym_module *m)
{
    GElf_Word crc = 0;
    const char *link = dwelf_elf_gnu_debuglink(m->main, &crc);
    if (link == NULL || link[0] == '\0' || strchr(link, '/') != NULL || m->main_path == NULL)
        return VITTE_OK;
    char dir[SYM_PATH_MAX], buf[SYM_PATH_MAX];
    const char *slash = strrchr(m->main_path, '/');
    size_t dl = slash != NULL ? (size_t)(slash - m->main_path) + 1 : 0;
    if (dl >= sizeof dir)
        return VITTE_OK;
    memcpy(dir, m->main_path, dl);
    dir[dl] = '\0'; /* "" or ".../" */
    const char *tries[3][2] = {{dir, ""}, {dir, ".debug/"}, {SYM_SYSTEM_DBG, dir}};
    for (int i = 0; i < 3 && !complete(m); i++) {
        if (i == 2 && dir[0] != '/')
            break;
        int rc;
        if (join_path(buf, tries[i][0], tries[i][1], link) &&
            (rc = try_file(s, m, buf, CAND_DEBUGLINK, crc)) != VITTE_OK)
            return rc;
    }
    return VITTE_OK;
}

/* ---- what a module holds --------------------------------------------------- */

static int read_loads(sym_module *m)
{
    size_t nph = 0;
    if (elf_getphdrnum(m->main, &nph) != 0 || nph == 0)
        return VITTE_OK;
    m->loads = vitte__calloc(nph, sizeof *m->loads);
    if (m->loads == NULL)
        return VITTE_ENOMEM;
    m->text_lo = UINT64_MAX;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(m->main, (int)i, &ph) == NULL || ph.p_type != PT_LOAD || ph.p_filesz == 0)
            continue;
        sym_load *l = &m->loads[m->n_loads++];
        l->off = ph.p_offset;
        l->end = ph.p_offset + ph.p_filesz;
        l->vaddr = ph.p_vaddr;
        l->exec = (ph.p_flags & PF_X) != 0;
        if (l->exec) {
            if (ph.p_vaddr < m->text_lo)
                m->text_lo = ph.p_vaddr;
            if (ph.p_vaddr + ph.p_memsz > m->text_hi)
                m->text_hi = ph.p_vaddr + ph.p_memsz;
        }
    }
    if (m->text_lo > m->text_hi) {
        m->text_lo = 0;
        m->text_hi = UINT64_MAX;
    }
    return VITTE_OK;
}

static int off_to_vaddr(const sym_module *m, uint64_t off, uint64_t *va)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < m->n_loads; i++) {
            const sym_load *l = &m->loads[i];
            if (l->exec == !pass && off >= l->off && off < l->end) {
                *va = off - l->off + l->vaddr;
                return 1;
            }
        }
    return 0;
}

static int func_cmp(const void *a, const void *b)
{
    const sym_func *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if ((x->size != 0) != (y->size != 0))
        return x->size != 0 ? -1 : 1; /* sized first */
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1; /* global, weak, local */
    return strcmp(x->name, y->name);
}

static size_t add_funcs(sym_module *m, Elf *elf, GElf_Word type, size_t n)
{
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn != NULL; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) == NULL || sh.sh_type != type || sh.sh_entsize == 0)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        if (data == NULL)
            continue;
        size_t count = sh.sh_size / sh.sh_entsize;
        for (size_t i = 0; i < count; i++) {
            GElf_Sym sym;
            if (gelf_getsym(data, (int)i, &sym) == NULL)
                break;
            int t = GELF_ST_TYPE(sym.st_info);
            if ((t != STT_FUNC && t != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
                sym.st_shndx >= SHN_LORESERVE || sym.st_value == 0)
                continue;
            GElf_Shdr ts;
            Elf_Scn *tscn = elf_getscn(elf, sym.st_shndx);
            if (tscn == NULL || gelf_getshdr(tscn, &ts) == NULL || !(ts.sh_flags & SHF_EXECINSTR))
                continue;
            const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
            if (name == NULL || name[0] == '\0')
                continue;
            sym_func *f = &m->funcs[n++];
            f->addr = sym.st_value;
            f->size = sym.st_size;
            f->bound = ts.sh_addr + ts.sh_size;
            f->name = name;
            f->shown = NULL;
            int b = GELF_ST_BIND(sym.st_info);
            f->rank = b == STB_GLOBAL ? 0 : b == STB_WEAK ? 1 : 2;
        }
    }
    return n;
}

static size_t count_syms(Elf *elf, GElf_Word type)
{
    size_t n = 0;
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn != NULL; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) != NULL && sh.sh_type == type && sh.sh_entsize > 0)
            n += sh.sh_size / sh.sh_entsize;
    }
    return n;
}

/* The function table: .symtab (of whichever file has it) and the main
 * file's .dynsym, sorted, one symbol per address. */
static int read_funcs(sym_module *m)
{
    size_t cap = count_syms(m->main, SHT_DYNSYM);
    if (m->symtab != NULL)
        cap += count_syms(m->symtab, SHT_SYMTAB);
    if (cap == 0)
        return VITTE_OK;
    m->funcs = vitte__calloc(cap, sizeof *m->funcs);
    if (m->funcs == NULL)
        return VITTE_ENOMEM;
    size_t n = 0;
    if (m->symtab != NULL)
        n = add_funcs(m, m->symtab, SHT_SYMTAB, n);
    n = add_funcs(m, m->main, SHT_DYNSYM, n);
    if (n == 0)
        return VITTE_OK;
    qsort(m->funcs, n, sizeof *m->funcs, func_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || m->funcs[i].addr != m->funcs[k - 1].addr)
            m->funcs[k++] = m->funcs[i];
    m->n_funcs = k;
    /* container: the innermost sized symbol holding each symbol's start. */
    int32_t *stack = vitte__malloc(k * sizeof *stack);
    if (stack == NULL)
        return VITTE_ENOMEM;
    size_t sp = 0;
    for (size_t i = 0; i < k; i++) {
        sym_func *f = &m->funcs[i];
        while (sp > 0) {
            const sym_func *t = &m->funcs[stack[sp - 1]];
            if (f->addr - t->addr < t->size)
                break;
            sp--;
        }
        f->container = sp > 0 ? stack[sp - 1] : -1;
        if (f->size > 0)
            stack[sp++] = (int32_t)i;
    }
    vitte__free(stack);
    return VITTE_OK;
}

/* The symbol for va.  A sized symbol must hold it (st_value <= va <
 * st_value + st_size).  A size-0 symbol (assembler without .size) is used
 * only when no sized symbol holds va, and then only up to the next symbol
 * and the end of its section. */
static const sym_func *func_find(const sym_module *m, uint64_t va)
{
    size_t lo = 0, hi = m->n_funcs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->funcs[mid].addr <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    size_t i = lo - 1;
    for (int32_t j = (int32_t)i; j >= 0; j = m->funcs[j].container) {
        const sym_func *f = &m->funcs[j];
        if (f->size > 0 && va - f->addr < f->size)
            return f;
    }
    const sym_func *f = &m->funcs[i];
    if (f->size == 0 && va < f->bound)
        return f; /* nothing better, and no other symbol before va */
    return NULL;
}

static const char *func_name(vitte__symbolizer *s, sym_func *f)
{
    if (f->shown == NULL)
        f->shown = demangle(s, f->name);
    return f->shown;
}

/* ---- DWARF: units and their index ---------------------------------------- */

typedef struct sym_iv {
    uint64_t lo, hi;
    uint32_t node, depth;
} sym_iv;

typedef struct sym_walk {
    sym_module *m;
    sym_cu *cu;
    size_t nodes_cap;
    sym_iv *ivs;
    size_t n_ivs, ivs_cap;
} sym_walk;

static int valid_range(const sym_module *m, uint64_t lo, uint64_t hi)
{
    /* Discarded code keeps ranges at 0 (ld.bfd) or -1/-2 (lld): only code
     * inside the module's executable segments is indexed. */
    return lo < hi && lo != 0 && lo >= m->text_lo && lo < m->text_hi;
}

/* A node for die when it has pc ranges (1), 0 when it has none. */
static int add_node(sym_walk *w, Dwarf_Die *die, int32_t parent, uint32_t depth, int32_t *out)
{
    Dwarf_Addr base = 0, lo = 0, hi = 0;
    ptrdiff_t off = 0;
    size_t first = w->n_ivs;
    uint32_t idx = (uint32_t)w->cu->n_nodes;
    while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
        if (!valid_range(w->m, lo, hi))
            continue;
        if (hi > w->m->text_hi)
            hi = w->m->text_hi;
        if (grow_array((void **)&w->ivs, &w->ivs_cap, w->n_ivs + 1, sizeof *w->ivs) != VITTE_OK)
            return VITTE_ENOMEM;
        w->ivs[w->n_ivs++] = (sym_iv){lo, hi, idx, depth};
    }
    if (w->n_ivs == first)
        return 0;
    if (grow_array((void **)&w->cu->nodes, &w->nodes_cap, idx + 1u, sizeof *w->cu->nodes) !=
        VITTE_OK)
        return VITTE_ENOMEM;
    sym_node *nd = &w->cu->nodes[idx];
    memset(nd, 0, sizeof *nd);
    nd->die = *die;
    nd->parent = parent;
    nd->call_file = UINT32_MAX;
    if (parent >= 0) {
        Dwarf_Attribute a;
        Dwarf_Word v;
        if (dwarf_attr(die, DW_AT_call_file, &a) != NULL && dwarf_formudata(&a, &v) == 0 &&
            v < UINT32_MAX)
            nd->call_file = (uint32_t)v;
        if (dwarf_attr(die, DW_AT_call_line, &a) != NULL && dwarf_formudata(&a, &v) == 0 &&
            v < UINT32_MAX)
            nd->call_line = (uint32_t)v;
    }
    w->cu->n_nodes++;
    *out = (int32_t)idx;
    return 1;
}

static int walk(sym_walk *w, Dwarf_Die *parent_die, int32_t parent, uint32_t depth, int level)
{
    Dwarf_Die child, next;
    if (level > SYM_MAX_NEST || dwarf_child(parent_die, &child) != 0)
        return VITTE_OK;
    for (;;) {
        int tag = dwarf_tag(&child);
        int rc = 0;
        int32_t node = -1;
        switch (tag) {
        case DW_TAG_subprogram:
            /* Code of its own (also a nested function): a new root. */
            rc = add_node(w, &child, -1, 0, &node);
            if (rc > 0)
                rc = walk(w, &child, node, 0, level + 1);
            break;
        case DW_TAG_inlined_subroutine:
            if (parent < 0)
                break;
            rc = add_node(w, &child, parent, depth + 1, &node);
            if (rc > 0)
                rc = walk(w, &child, node, depth + 1, level + 1);
            break;
        case DW_TAG_lexical_block:
        case DW_TAG_try_block:
        case DW_TAG_catch_block:
        case DW_TAG_namespace:
        case DW_TAG_module:
            if (dwarf_haschildren(&child))
                rc = walk(w, &child, parent, depth, level + 1);
            break;
        default:
            break;
        }
        if (rc < 0)
            return rc;
        if (dwarf_siblingof(&child, &next) != 0)
            break;
        child = next;
    }
    return VITTE_OK;
}

static int iv_cmp(const void *a, const void *b)
{
    const sym_iv *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    if (x->depth != y->depth)
        return x->depth < y->depth ? -1 : 1; /* outer first */
    if (x->hi != y->hi)
        return x->hi > y->hi ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

static int emit_seg(sym_cu *cu, size_t *cap, uint64_t lo, uint64_t hi, uint32_t node)
{
    if (lo >= hi)
        return VITTE_OK;
    if (cu->n_segs > 0) {
        sym_seg *p = &cu->segs[cu->n_segs - 1];
        if (p->hi == lo && p->node == node) {
            p->hi = hi;
            return VITTE_OK;
        }
    }
    if (grow_array((void **)&cu->segs, cap, cu->n_segs + 1, sizeof *cu->segs) != VITTE_OK)
        return VITTE_ENOMEM;
    cu->segs[cu->n_segs++] = (sym_seg){lo, hi, node};
    return VITTE_OK;
}

/* Nested ranges -> disjoint segments, each naming the innermost node. */
static int cut_segments(sym_cu *cu, sym_iv *ivs, size_t n)
{
    qsort(ivs, n, sizeof *ivs, iv_cmp);
    typedef struct {
        uint64_t hi;
        uint32_t node;
    } open_iv;
    open_iv *stack = vitte__malloc((n + 1) * sizeof *stack);
    if (stack == NULL)
        return VITTE_ENOMEM;
    size_t sp = 0, cap = 0;
    uint64_t pos = 0;
    int rc = VITTE_OK;
    for (size_t i = 0; i < n && rc == VITTE_OK; i++) {
        const sym_iv *iv = &ivs[i];
        while (sp > 0 && stack[sp - 1].hi <= iv->lo && rc == VITTE_OK) {
            sp--;
            rc = emit_seg(cu, &cap, pos, stack[sp].hi, stack[sp].node);
            if (stack[sp].hi > pos)
                pos = stack[sp].hi;
        }
        uint64_t hi = iv->hi;
        if (sp > 0) {
            if (rc == VITTE_OK)
                rc = emit_seg(cu, &cap, pos, iv->lo, stack[sp - 1].node);
            if (hi > stack[sp - 1].hi)
                hi = stack[sp - 1].hi; /* badly nested: stay inside the outer range */
        }
        pos = iv->lo;
        if (hi > iv->lo)
            stack[sp++] = (open_iv){hi, iv->node};
    }
    while (sp > 0 && rc == VITTE_OK) {
        sp--;
        rc = emit_seg(cu, &cap, pos, stack[sp].hi, stack[sp].node);
        if (stack[sp].hi > pos)
            pos = stack[sp].hi;
    }
    vitte__free(stack);
    return rc;
}

static void cu_clear(sym_cu *cu)
{
    vitte__free(cu->nodes);
    vitte__free(cu->segs);
    cu->nodes = NULL;
    cu->segs = NULL;
    cu->n_nodes = cu->n_segs = 0;
}

static int cu_index(sym_module *m, sym_cu *cu)
{
    sym_walk w = {m, cu, 0, NULL, 0, 0};
    int rc = walk(&w, &cu->die, -1, 0, 0);
    if (rc == VITTE_OK && w.n_ivs > 0)
        rc = cut_segments(cu, w.ivs, w.n_ivs);
    vitte__free(w.ivs);
    if (rc != VITTE_OK) {
        cu_clear(cu);
        return rc; /* ENOMEM: the unit stays CU_NEW, to be tried again */
    }
    cu->state = CU_INDEXED;
    return VITTE_OK;
}

static int curange_cmp(const void *a, const void *b)
{
    const sym_curange *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return x->hi < y->hi ? -1 : x->hi > y->hi;
}

static int add_curange(sym_module *m, size_t *cap, uint64_t lo, uint64_t hi, uint32_t cu)
{
    if (grow_array((void **)&m->curs, cap, m->n_curs + 1, sizeof *m->curs) != VITTE_OK)
        return VITTE_ENOMEM;
    m->curs[m->n_curs++] = (sym_curange){lo, hi, cu};
    return VITTE_OK;
}

/* The compile units and their ranges.  A unit without ranges on its DIE is
 * indexed now, and its functions' ranges stand for it (the standard asks for
 * ranges on units with code; this is for producers that omit them). */
static int read_units(sym_module *m)
{
    Dwarf_CU *cu = NULL, *next = NULL;
    Dwarf_Half version;
    uint8_t ut;
    Dwarf_Die cudie, subdie;
    size_t cus_cap = 0, curs_cap = 0;
    while (dwarf_get_units(m->dw, cu, &next, &version, &ut, &cudie, &subdie) == 0) {
        cu = next;
        if (ut != DW_UT_compile && ut != DW_UT_skeleton)
            continue;
        int tag = dwarf_tag(&cudie);
        if (tag != DW_TAG_compile_unit && tag != DW_TAG_skeleton_unit)
            continue;
        if (grow_array((void **)&m->cus, &cus_cap, m->n_cus + 1, sizeof *m->cus) != VITTE_OK)
            return VITTE_ENOMEM;
        uint32_t idx = (uint32_t)m->n_cus;
        sym_cu *u = &m->cus[m->n_cus++];
        memset(u, 0, sizeof *u);
        u->die = cudie;
        u->assembler = dwarf_srclang(&cudie) == DW_LANG_Mips_Assembler;
        if (ut == DW_UT_skeleton && subdie.addr != NULL &&
            dwarf_tag(&subdie) == DW_TAG_compile_unit)
            u->die = subdie; /* split DWARF: the .dwo unit */
        Dwarf_Addr base = 0, lo = 0, hi = 0;
        ptrdiff_t off = 0;
        size_t before = m->n_curs;
        while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0)
            if (valid_range(m, lo, hi) && add_curange(m, &curs_cap, lo, hi, idx) != VITTE_OK)
                return VITTE_ENOMEM;
        /* A unit that states its ranges (even only discarded ones) is
         * believed; one that states none is indexed now. */
        if (m->n_curs > before || dwarf_hasattr(&cudie, DW_AT_ranges) ||
            dwarf_hasattr(&cudie, DW_AT_high_pc))
            continue;
        if (cu_index(m, u) != VITTE_OK)
            return VITTE_ENOMEM;
        for (size_t i = 0; i < u->n_segs; i++)
            if (add_curange(m, &curs_cap, u->segs[i].lo, u->segs[i].hi, idx) != VITTE_OK)
                return VITTE_ENOMEM;
    }
    if (m->n_curs > 1)
        qsort(m->curs, m->n_curs, sizeof *m->curs, curange_cmp);
    return VITTE_OK;
}

static const sym_seg *seg_find(const sym_cu *cu, uint64_t va)
{
    size_t lo = 0, hi = cu->n_segs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cu->segs[mid].lo <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || va >= cu->segs[lo - 1].hi)
        return NULL;
    return &cu->segs[lo - 1];
}

/* The unit holding va (indexed), and in *seg the segment of its index that
 * holds va (NULL when none: no function DIE there).  Units may overlap in
 * broken DWARF: a few earlier ranges are tried too. */
static int cu_find(sym_module *m, uint64_t va, sym_cu **out, const sym_seg **seg)
{
    *out = NULL;
    *seg = NULL;
    size_t lo = 0, hi = m->n_curs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->curs[mid].lo <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo, tries = 0; i > 0 && tries < 8; i--, tries++) {
        const sym_curange *r = &m->curs[i - 1];
        if (va >= r->hi)
            continue;
        sym_cu *cu = &m->cus[r->cu];
        if (cu->state == CU_NEW) {
            int rc = cu_index(m, cu);
            if (rc != VITTE_OK)
                return rc;
        }
        if (*out == NULL)
            *out = cu;
        const sym_seg *sg = seg_find(cu, va);
        if (sg != NULL) {
            *out = cu;
            *seg = sg;
            return VITTE_OK;
        }
    }
    return VITTE_OK;
}

static const char *die_string(Dwarf_Die *die, unsigned name)
{
    Dwarf_Attribute a;
    if (dwarf_attr_integrate(die, name, &a) == NULL)
        return NULL;
    return dwarf_formstring(&a);
}

static const char *node_name(vitte__symbolizer *s, sym_node *nd)
{
    if (nd->name == NULL) {
        const char *n = NULL;
        const char *link = die_string(&nd->die, DW_AT_linkage_name);
        if (link == NULL)
            link = die_string(&nd->die, DW_AT_MIPS_linkage_name);
        if (link != NULL) {
            const char *d = demangle(s, link);
            if (d != link)
                n = d;
        }
        if (n == NULL)
            n = die_string(&nd->die, DW_AT_name);
        if (n == NULL)
            n = link;
        nd->name = n != NULL && n[0] != '\0' ? n : sym_noname;
    }
    return nd->name;
}

static const char *cu_file(sym_cu *cu, uint32_t idx)
{
    if (cu->files_state == 0) {
        cu->files_state = 2;
        if (dwarf_getsrcfiles(&cu->die, &cu->files, &cu->n_files) == 0)
            cu->files_state = 1;
    }
    if (cu->files_state != 1 || idx >= cu->n_files)
        return "";
    const char *f = dwarf_filesrc(cu->files, idx, NULL, NULL);
    return f != NULL ? f : "";
}

static void line_at(sym_cu *cu, uint64_t va, const char **file, uint32_t *line)
{
    *file = "";
    *line = 0;
    if (cu == NULL)
        return;
    Dwarf_Line *ln = dwarf_getsrc_die(&cu->die, va);
    if (ln == NULL)
        return;
    const char *f = dwarf_linesrc(ln, NULL, NULL);
    int l = 0;
    if (f != NULL)
        *file = f;
    if (dwarf_lineno(ln, &l) == 0 && l > 0)
        *line = (uint32_t)l;
}

/* ---- resolving ------------------------------------------------------------- */

static int tmp_reserve(vitte__symbolizer *s, size_t n)
{
    return grow_array((void **)&s->tmp, &s->tmp_cap, n, sizeof *s->tmp);
}

/* Frames for va into s->tmp: their number, or VITTE_ENOMEM. */
static int resolve(vitte__symbolizer *s, sym_module *m, uint64_t va)
{
    sym_func *fs = (sym_func *)func_find(m, va);
    sym_cu *cu = NULL;
    const sym_seg *seg = NULL;
    if (m->dw != NULL) {
        int rc = cu_find(m, va, &cu, &seg);
        if (rc != VITTE_OK)
            return rc;
    }
    const char *file;
    uint32_t line;
    if (seg != NULL) {
        size_t depth = 0;
        for (int32_t i = (int32_t)seg->node; i >= 0; i = cu->nodes[i].parent)
            depth++;
        if (tmp_reserve(s, depth) != VITTE_OK)
            return VITTE_ENOMEM;
        line_at(cu, va, &file, &line);
        int n = 0;
        for (int32_t i = (int32_t)seg->node; i >= 0; i = cu->nodes[i].parent) {
            sym_node *nd = &cu->nodes[i];
            /* The assembler's DIEs name the label of the code (a local
             * alias such as __GI_getpid): the symbol table's name is the
             * one users know. */
            const char *name =
                nd->parent < 0 && fs != NULL && cu->assembler ? func_name(s, fs) : node_name(s, nd);
            if (name == sym_noname)
                name = nd->parent < 0 && fs != NULL ? func_name(s, fs) : sym_unknown;
            s->tmp[n++] = (vitte__symframe){name, file, line, nd->parent >= 0};
            if (nd->parent >= 0) {
                file = nd->call_file != UINT32_MAX ? cu_file(cu, nd->call_file) : "";
                line = nd->call_line;
            }
        }
        return n;
    }
    if (fs == NULL)
        return 0;
    if (tmp_reserve(s, 1) != VITTE_OK)
        return VITTE_ENOMEM;
    line_at(cu, va, &file, &line);
    s->tmp[0] = (vitte__symframe){func_name(s, fs), file, line, 0};
    return 1;
}

static sym_answer *answer_slot(sym_answer *tab, size_t cap, uint64_t off)
{
    size_t i = (size_t)((off * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
    while (tab[i].n >= 0 && tab[i].off != off)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

static int answer_put(sym_module *m, uint64_t off, const vitte__symframe *frames, int n)
{
    if ((m->ans_n + 1) * 2 > m->ans_cap) {
        size_t cap = m->ans_cap ? m->ans_cap * 2 : 1024;
        sym_answer *tab = vitte__malloc(cap * sizeof *tab);
        if (tab == NULL)
            return VITTE_ENOMEM;
        for (size_t i = 0; i < cap; i++)
            tab[i].n = -1;
        for (size_t i = 0; i < m->ans_cap; i++)
            if (m->answers[i].n >= 0)
                *answer_slot(tab, cap, m->answers[i].off) = m->answers[i];
        vitte__free(m->answers);
        m->answers = tab;
        m->ans_cap = cap;
    }
    *answer_slot(m->answers, m->ans_cap, off) = (sym_answer){off, frames, n};
    m->ans_n++;
    return VITTE_OK;
}

/* ---- modules ------------------------------------------------------------- */

static void module_reset(sym_module *m)
{
    for (size_t i = 0; i < m->n_cus; i++)
        cu_clear(&m->cus[i]);
    vitte__free(m->cus);
    vitte__free(m->curs);
    vitte__free(m->funcs);
    vitte__free(m->loads);
    vitte__free(m->answers);
    if (m->dw != NULL)
        dwarf_end(m->dw);
    if (m->alt != NULL)
        dwarf_end(m->alt);
    for (sym_file *f = m->files, *n; f != NULL; f = n) {
        n = f->next;
        elf_end(f->elf);
        if (f->fd >= 0)
            close(f->fd);
        vitte__free(f->image);
        vitte__free(f->path);
        vitte__free(f);
    }
    if (m->want != m->bid)
        vitte__free(m->want);
    m->want = m->bid;
    m->want_len = m->bid_len;
    m->files = NULL;
    m->main = m->symtab = NULL;
    m->main_path = NULL;
    m->dw = m->alt = NULL;
    m->cus = NULL;
    m->curs = NULL;
    m->funcs = NULL;
    m->loads = NULL;
    m->answers = NULL;
    m->n_cus = m->n_curs = m->n_funcs = m->n_loads = m->ans_cap = m->ans_n = 0;
    m->loaded = 0;
    m->problem = NULL;
    m->seen_file = m->seen_bid_mismatch = m->seen_not_elf = m->no_vdso = 0;
}

static int module_search(vitte__symbolizer *s, sym_module *m)
{
    int vdso = strcmp(m->path, "[vdso]") == 0;
    int is_file = m->path[0] == '/';
    char buf[SYM_PATH_MAX], clean[SYM_PATH_MAX];
    int rc = VITTE_OK;
#define TRY(p, fl, c)                                                                              \
    do {                                                                                           \
        if ((rc = try_file(s, m, (p), (fl), (c))) != VITTE_OK)                                     \
            return rc;                                                                             \
    } while (0)

    /* "/x (deleted)" in the maps: the file was removed or replaced since;
     * "/x" is used only when a build id tells it is still the same file. */
    static const char deleted[] = " (deleted)";
    size_t len = strlen(m->path), dl = sizeof deleted - 1;
    const char *path = m->path;
    int was_deleted = 0;
    if (len > dl && len - dl < SYM_PATH_MAX && strcmp(m->path + len - dl, deleted) == 0) {
        memcpy(clean, m->path, len - dl);
        clean[len - dl] = '\0';
        path = clean;
        was_deleted = 1;
    }
    if (vdso) {
        /* Same kernel, same vDSO: this process's image maps the offsets. */
        if ((rc = try_vdso(s, m)) != VITTE_OK)
            return rc;
    } else if (m->want_len == 0 && is_file && !was_deleted) {
        uint8_t id[64];
        int n = vitte__elf_build_id(path, id, sizeof id);
        if (n > 0 && (size_t)n <= sizeof id && (m->want = vitte__malloc((size_t)n)) != NULL) {
            memcpy(m->want, id, (size_t)n);
            m->want_len = (size_t)n;
        }
    }
    for (size_t i = 0; i < s->n_dirs && !complete(m); i++) {
        const char *d = s->dirs[i];
        if (m->want_len > 0) {
            if (build_id_path(buf, d, m->want, m->want_len, ".debug"))
                TRY(buf, 0, 0);
            if (build_id_path(buf, d, m->want, m->want_len, "") && !complete(m))
                TRY(buf, 0, 0);
        }
        if (!vdso && !complete(m) && join_path(buf, d, "/", vitte__module_basename(path)))
            TRY(buf, 0, 0);
        if (is_file && !complete(m) && join_path(buf, d, path, NULL))
            TRY(buf, 0, 0);
    }
    if (!vdso && !complete(m) && (!was_deleted || m->want_len > 0))
        TRY(path, 0, 0);
    if (!complete(m) && m->main != NULL && (rc = try_debuglink(s, m)) != VITTE_OK)
        return rc;
    if (!complete(m) && m->want_len > 0 &&
        build_id_path(buf, SYM_SYSTEM_DBG, m->want, m->want_len, ".debug"))
        TRY(buf, 0, 0);
#undef TRY
    return VITTE_OK;
}

static int module_load(vitte__symbolizer *s, sym_module *m)
{
    int rc = module_search(s, m);
    if (rc == VITTE_OK && m->main != NULL)
        rc = read_loads(m);
    if (rc == VITTE_OK && m->main != NULL)
        rc = read_funcs(m);
    if (rc == VITTE_OK && m->main != NULL && m->dw != NULL)
        rc = read_units(m);
    if (rc != VITTE_OK) {
        module_reset(m);
        return rc;
    }
    m->loaded = 1;
    /* Everything needed is mapped (or read) now: give the descriptors back,
     * so that hundreds of modules do not exhaust them. */
    for (sym_file *f = m->files; f != NULL; f = f->next)
        if (f->fd >= 0 && elf_rawfile(f->elf, NULL) != NULL &&
            elf_cntl(f->elf, ELF_C_FDDONE) == 0) {
            close(f->fd);
            f->fd = -1;
        }
    if (m->main == NULL) {
        if (m->no_vdso)
            m->problem = "no vDSO in this process";
        else if (m->seen_bid_mismatch)
            m->problem = "build id differs";
        else if (m->seen_not_elf)
            m->problem = "not an ELF file";
        else if (m->seen_file)
            m->problem = "no loadable code (debug information only)";
        else
            m->problem = "no such file";
    } else if (m->n_funcs == 0 && m->n_curs == 0) {
        m->problem = "no symbols";
    }
    return VITTE_OK;
}

static sym_module *module_get(vitte__symbolizer *s, const char *path, const uint8_t *bid,
                              size_t bid_len)
{
    sym_module *m = s->last;
    if (m != NULL && m->bid_len == bid_len && strcmp(m->path, path) == 0 &&
        (bid_len == 0 || memcmp(m->bid, bid, bid_len) == 0))
        return m;
    size_t pl = strlen(path);
    if (pl > SIZE_MAX / 2 - bid_len)
        return NULL;
    char stackkey[512];
    char *key = pl + 1 + bid_len <= sizeof stackkey ? stackkey : vitte__malloc(pl + 1 + bid_len);
    if (key == NULL)
        return NULL;
    memcpy(key, path, pl + 1);
    if (bid_len > 0)
        memcpy(key + pl + 1, bid, bid_len);
    size_t klen = pl + 1 + bid_len;
    m = vitte__strmap_get(&s->mods, key, klen);
    if (m == NULL) {
        m = vitte__calloc(1, sizeof *m);
        if (m != NULL) {
            m->path = vitte__strdup(path);
            m->bid = bid_len > 0 ? vitte__malloc(bid_len) : NULL;
            if (m->path == NULL || (bid_len > 0 && m->bid == NULL) ||
                vitte__strmap_put(&s->mods, key, klen, m) != VITTE_OK) {
                vitte__free(m->path);
                vitte__free(m->bid);
                vitte__free(m);
                m = NULL;
            } else {
                if (bid_len > 0)
                    memcpy(m->bid, bid, bid_len);
                m->bid_len = bid_len;
                m->want = m->bid;
                m->want_len = bid_len;
                m->next = s->first;
                s->first = m;
            }
        }
    }
    if (key != stackkey)
        vitte__free(key);
    if (m != NULL)
        s->last = m;
    return m;
}

/* ---- the interface --------------------------------------------------------- */

vitte__symbolizer *vitte__symbolizer_create(const vitte__symbolizer_options *opt)
{
    elf_version(EV_CURRENT);
    vitte__symbolizer *s = vitte__calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    vitte__strmap_init(&s->mods);
    if (opt != NULL && opt->n_dirs > 0 && opt->dirs != NULL) {
        s->dirs = vitte__calloc(opt->n_dirs, sizeof *s->dirs);
        if (s->dirs == NULL) {
            vitte__free(s);
            return NULL;
        }
        for (size_t i = 0; i < opt->n_dirs; i++) {
            if (opt->dirs[i] == NULL || opt->dirs[i][0] == '\0')
                continue;
            if ((s->dirs[s->n_dirs] = vitte__strdup(opt->dirs[i])) == NULL) {
                vitte__symbolizer_destroy(s);
                return NULL;
            }
            s->n_dirs++;
        }
    }
    return s;
}

void vitte__symbolizer_destroy(vitte__symbolizer *s)
{
    if (s == NULL)
        return;
    for (sym_module *m = s->first, *n; m != NULL; m = n) {
        n = m->next;
        module_reset(m);
        vitte__free(m->path);
        vitte__free(m->bid);
        vitte__free(m);
    }
    vitte__strmap_fini(&s->mods);
    for (sym_chunk *c = s->chunks, *n; c != NULL; c = n) {
        n = c->next;
        vitte__free(c);
    }
    for (size_t i = 0; i < s->n_dirs; i++)
        vitte__free(s->dirs[i]);
    vitte__free(s->dirs);
    vitte__free(s->tmp);
    if (s->demangle_lib != NULL)
        dlclose(s->demangle_lib);
    vitte__free(s);
}

int vitte__symbolize(vitte__symbolizer *s, const char *path, const uint8_t *build_id,
                     size_t bid_len, uint64_t file_offset, const vitte__symframe **frames)
{
    if (frames != NULL)
        *frames = NULL;
    if (s == NULL || path == NULL || frames == NULL)
        return 0;
    if (build_id == NULL)
        bid_len = 0;
    sym_module *m = module_get(s, path, build_id, bid_len);
    if (m == NULL)
        return VITTE_ENOMEM;
    if (!m->loaded) {
        int rc = module_load(s, m);
        if (rc != VITTE_OK)
            return rc;
    }
    if (m->main == NULL)
        return 0;
    if (m->ans_cap > 0) {
        const sym_answer *a = answer_slot(m->answers, m->ans_cap, file_offset);
        if (a->n >= 0) {
            *frames = a->frames;
            return a->n;
        }
    }
    uint64_t va;
    int n = off_to_vaddr(m, file_offset, &va) ? resolve(s, m, va) : 0;
    if (n < 0)
        return n;
    vitte__symframe *out = NULL;
    if (n > 0) {
        out = arena_alloc(s, (size_t)n * sizeof *out);
        if (out == NULL)
            return VITTE_ENOMEM;
        memcpy(out, s->tmp, (size_t)n * sizeof *out);
    }
    if (answer_put(m, file_offset, out, n) != VITTE_OK)
        return VITTE_ENOMEM;
    *frames = out;
    return n;
}

const char *vitte__symbolizer_module_problem(vitte__symbolizer *s, const char *path)
{
    if (s == NULL || path == NULL)
        return NULL;
    /* The list runs newest first: the latest module asked with this path. */
    for (sym_module *m = s->first; m != NULL; m = m->next)
        if (strcmp(m->path, path) == 0)
            return m->problem;
    return NULL;
}
