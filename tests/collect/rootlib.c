/* rootlib.c: a library the roots test dlopens: a global and a __thread slot. */
void *rootlib_global;
__thread void *rootlib_tls;

void rootlib_set(void *p)
{
	rootlib_global = p;
}

void rootlib_set_tls(void *p)
{
	rootlib_tls = p;
}

void *rootlib_get_tls(void)
{
	return rootlib_tls;
}
