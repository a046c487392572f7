/* vitte: umbrella header.  #include <vitte/vitte.h> gives the whole public API. */
#ifndef VITTE_VITTE_H
#define VITTE_VITTE_H

#include <vitte/common.h>
#include <vitte/version.h>
#include <vitte/clock.h>
#include <vitte/metrics.h>
#include <vitte/trace.h>
#include <vitte/trace_export.h>
#include <vitte/stats.h>
#include <vitte/profiler.h>
#include <vitte/system.h>
#include <vitte/session.h>

#endif
