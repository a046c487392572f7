/* bench_tp.h: the LTTng-UST tracepoint provider of bench_trace_lttng: one
 * event, vitte_bench:ev, with one int field, as in the reference
 * measurements (tracing.md, section 2).  bench_tp.c instantiates it. */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER vitte_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./bench_tp.h"

#if !defined(VITTE_BENCH_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define VITTE_BENCH_TP_H

#include <lttng/tracepoint.h>

LTTNG_UST_TRACEPOINT_EVENT(vitte_bench, ev, LTTNG_UST_TP_ARGS(int, v),
                           LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(int, v, v)))

#endif

#include <lttng/tracepoint-event.h>
