/* Internal entry points of the .vittrace reader (vittrace_read.c), for the
 * fuzz target and the tests.  The public API is in <vitte/trace.h>. */
#ifndef VITTE_FORMAT_VITTRACE_READ_H
#define VITTE_FORMAT_VITTRACE_READ_H

#include <stddef.h>
#include <stdint.h>
#include <vitte/trace.h>

/* Internal reader flags, above the public VITTE_READER_* bits.  NO_CRC
 * accepts checksum mismatches: a fuzzer cannot forge CRCs, so without it the
 * record parsers behind them would never see mutated input.  Never use it on
 * real files. */
#define VITTE__READER_NO_CRC (1u << 16)
/* Samples keep the symbols stored in the file and placeholders otherwise:
 * no module is opened (fuzzing: mutated paths must not reach the disk). */
#define VITTE__READER_NO_SYMBOLIZE (1u << 17)

/** Read a .vittrace held in memory (data must outlive the reader; it is not
 * copied).  flags: VITTE__READER_NO_CRC or 0 (FOLLOW makes no sense here and
 * is ignored).  Otherwise as vitte_trace_reader_open(). */
int vitte__trace_reader_open_mem(const void *data, size_t size, unsigned flags,
                                 vitte_trace_reader **out, vitte_diag *diag);

/** Events returned so far whose name, key or thread could not be resolved
 * (defined in a damaged chunk: shown as "?"), plus pending arguments thrown
 * away because damage made their span unknowable.  The public info struct
 * has no field for it. */
uint64_t vitte__trace_reader_damaged(const vitte_trace_reader *r);

/** Bytes skipped so far while searching for a chunk after damage. */
uint64_t vitte__trace_reader_skipped(const vitte_trace_reader *r);

/** The latest value of a known INFO key ("host", "cmdline", "vitte_version",
 * "flush_interval_ns", "process", "clock"; 1.1: "sampler", "call_graph",
 * "sample_freq", "prof_*"), or NULL. */
const char *vitte__trace_reader_info_value(const vitte_trace_reader *r, const char *key);

#endif
