/* Fatal-signal handlers chained over the program's (sigchain.h). */
#include "common/sigchain.h"

#include <string.h>

void vitte__sig_install(const int *sigs, size_t n, vitte__sig_handler handler,
                        struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < n; i++)
        sigaction(sigs[i], &sa, &old[i]);
}

void vitte__sig_restore(const int *sigs, size_t n, vitte__sig_handler handler,
                        const struct sigaction *old)
{
    for (size_t i = 0; i < n; i++) {
        struct sigaction cur;
        if (sigaction(sigs[i], NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
            cur.sa_sigaction == handler)
            sigaction(sigs[i], &old[i], NULL);
    }
}

void vitte__sig_chain(const struct sigaction *old, int sig, siginfo_t *si, void *uc, int dies)
{
    if (old != NULL && (old->sa_flags & SA_SIGINFO) && old->sa_sigaction != NULL) {
        old->sa_sigaction(sig, si, uc);
    } else if (old != NULL && !(old->sa_flags & SA_SIGINFO) && old->sa_handler != SIG_DFL &&
               old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
    } else if (dies) {
        /* The default action: restore it and deliver the signal again. */
        signal(sig, SIG_DFL);
        raise(sig);
    }
}
