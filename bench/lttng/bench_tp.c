/* bench_tp.c: the probes and the tracepoint definitions of bench_tp.h,
 * linked statically into bench_trace_lttng. */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "bench_tp.h"
