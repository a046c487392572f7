/* vitte internal: turning addresses in ELF modules into functions, files
 * and lines, inlined frames included (elfutils libdw and libelf).
 *
 * Addresses are given as file offsets in a module (the offset in the file
 * of the instruction: ip - mapping start + mapping file offset), so the
 * answer does not depend on where the module was loaded (PIE, ASLR,
 * shared libraries).  The symbolizer finds the ELF virtual address from
 * the PT_LOAD segment that holds the offset.
 *
 * Naive libdw costs about 590 us per address (symbol tables and DIE trees
 * rescanned on every call); this module builds, once per module, a sorted
 * function table and an index of inlined ranges, and caches each answer,
 * so each (module, offset) is resolved once.
 *
 * Never reaches the network: debuginfod is not used.
 * Not thread-safe: one symbolizer per thread. */
#ifndef VITTE_PROF_SYMBOLIZE_H
#define VITTE_PROF_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

typedef struct vitte__symbolizer vitte__symbolizer;

typedef struct vitte__symframe {
    const char *function; /* demangled when C++; never NULL when returned */
    const char *file;     /* "" when unknown */
    uint32_t line;        /* 0 when unknown */
    uint8_t inlined;      /* this frame was inlined into the next one */
} vitte__symframe;

typedef struct vitte__symbolizer_options {
    /* Extra directories searched for a module's file and its debug
     * information, in this order, before the path it was mapped from:
     *   DIR/.build-id/xx/yyyy.debug, DIR/.build-id/xx/yyyy,
     *   DIR/<basename of the path>, DIR/<path>.
     * /usr/lib/debug is always searched last (as gdb and elfutils do). */
    const char *const *dirs;
    size_t n_dirs;
} vitte__symbolizer_options;

/** A new symbolizer (NULL options: defaults), or NULL when out of memory. */
vitte__symbolizer *vitte__symbolizer_create(const vitte__symbolizer_options *opt);
void vitte__symbolizer_destroy(vitte__symbolizer *s);

/** Resolve file_offset in the module mapped from path (as in /proc/PID/maps;
 * "[vdso]" is the vDSO of this kernel) whose GNU build id is build_id
 * (bid_len bytes; 0 when unknown).  A file found with a different build id
 * is not used (so a rebuilt binary never gives wrong names).
 *
 * Returns the number of frames written to *frames (innermost first: inlined
 * functions, then the function that holds them), valid until the
 * symbolizer is destroyed; 0 when no function is known for the address (the
 * caller shows "module+0xoffset"); < 0 only for VITTE_ENOMEM. */
int vitte__symbolize(vitte__symbolizer *s, const char *path, const uint8_t *build_id,
                     size_t bid_len, uint64_t file_offset, const vitte__symframe **frames);

/** Why a module gives no names, for messages ("no such file", "build id
 * differs", "no symbols"), or NULL when it was found and has symbols or was
 * never asked about. */
const char *vitte__symbolizer_module_problem(vitte__symbolizer *s, const char *path);

/** The GNU build id of the ELF file at path: its length (copied to out, up
 * to cap bytes), 0 when it has none, < 0 when the file is not readable ELF. */
int vitte__elf_build_id(const char *path, uint8_t *out, size_t cap);

/** The mapped name of a module, shortened for display: its basename. */
const char *vitte__module_basename(const char *path);

#endif
