#include <vitte/version.h>

unsigned vitte_version(void)
{
    return VITTE_VERSION_NUMBER;
}

const char *vitte_version_string(void)
{
    return VITTE_VERSION_STRING;
}
