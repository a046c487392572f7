/* vitte internal: installing handlers for fatal signals over the
 * program's own, and handing a signal on to the handler that was there
 * before (the tracer and the profiler both flush their files on a crash). */
#ifndef VITTE_COMMON_SIGCHAIN_H
#define VITTE_COMMON_SIGCHAIN_H

#include <signal.h>
#include <stddef.h>

typedef void (*vitte__sig_handler)(int sig, siginfo_t *si, void *uc);

/** Install handler (SA_SIGINFO | SA_ONSTACK) for each of sigs[0..n),
 * saving what was there in old[0..n). */
void vitte__sig_install(const int *sigs, size_t n, vitte__sig_handler handler,
                        struct sigaction *old);

/** Put old[i] back for each signal whose handler is still handler (the
 * program may have installed its own since). */
void vitte__sig_restore(const int *sigs, size_t n, vitte__sig_handler handler,
                        const struct sigaction *old);

/** Hand sig on to old (NULL: none): its SA_SIGINFO or plain handler; else,
 * when the default action would end the process (dies), restore the
 * default and raise the signal again.  Signals: AS-safe. */
void vitte__sig_chain(const struct sigaction *old, int sig, siginfo_t *si, void *uc, int dies);

#endif
