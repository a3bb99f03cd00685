/*
 * dict.h
 *	  String dictionary of the training aggregate: text -> dense code.
 */
#ifndef DLFIN_DICT_H
#define DLFIN_DICT_H

#include "postgres.h"

/* Distinct strings in arrival order with their counts. */
typedef struct DlfDict
{
	int32		n;				/* entries */
	int32		cap;			/* allocated entries */
	char	  **str;			/* [cap] NUL-terminated copies */
	int32	   *len;			/* [cap] byte lengths */
	int64	   *count;			/* [cap] occurrences */
	int32	   *slots;			/* open addressing: code + 1, 0 = empty */
	int32		nslots;			/* power of two, > 2 * n */
	Size		bytes;			/* memory used, for the memory limit */
} DlfDict;

/* Returns the code of s, adding it with count 0 when new; counts += add. */
extern int32 dlfin_dict_add(DlfDict *d, const char *s, int len, int64 add);

#endif
