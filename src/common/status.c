/* Status codes: the text and name of each, from the one list in common.h. */
#include <vitte/common.h>

const char *vitte_strerror(int status)
{
    switch (status) {
#define X(name, value, text)                                                                       \
    case VITTE_##name:                                                                             \
        return text;
        VITTE_STATUS_MAP(X)
#undef X
    default:
        return "unknown status";
    }
}

const char *vitte_status_name(int status)
{
    switch (status) {
#define X(name, value, text)                                                                       \
    case VITTE_##name:                                                                             \
        return "VITTE_" #name;
        VITTE_STATUS_MAP(X)
#undef X
    default:
        return "VITTE_UNKNOWN";
    }
}
