/*
 * lbfgs.c
 *	  Full-batch L-BFGS minimiser (internal): two-loop recursion over the
 *	  last LBFGS_MEM steps and a backtracking line search that only accepts
 *	  a point where the objective decreased (Armijo condition).
 *
 * The caller supplies the objective (loss and gradient over all training
 * rows, see train.c), an optional projection onto a feasible set (monotone
 * constraints) and the interrupt check.  Parameters are float, as the
 * network keeps them; the search direction and every dot product are in
 * double precision, summed in index order, so the result depends only on
 * the objective's values and never on threads.
 */
#include "lbfgs.h"

#include <math.h>
#include <string.h>

/* pairs (s, y) kept */
#define LBFGS_MEM		10
/* Armijo constant and backtracking factor */
#define LBFGS_C1		1e-4
#define LBFGS_SHRINK	0.5
/* trial steps of one line search before giving up */
#define LBFGS_MAX_LS	30

/* Dot product of two float vectors in double precision. */
static double
dot_ff(const float *a, const float *b, int64_t n)
{
	double		s = 0.0;

	for (int64_t i = 0; i < n; i++)
		s += (double) a[i] * (double) b[i];
	return s;
}

/* Dot product of a float vector and a double vector. */
static double
dot_fd(const float *a, const double *b, int64_t n)
{
	double		s = 0.0;

	for (int64_t i = 0; i < n; i++)
		s += (double) a[i] * b[i];
	return s;
}

/* The minimiser's state between steps. */
typedef struct Lb
{
	const DlfLbfgsProblem *p;
	int64_t		n;
	float	   *x;				/* the current point (the caller's) */
	float	   *g;				/* the gradient at x */
	float	   *gn;				/* at the trial point */
	float	   *xn;				/* the trial point */
	float	   *S;				/* [LBFGS_MEM][n] steps */
	float	   *Y;				/* [LBFGS_MEM][n] gradient changes */
	double	   *d;				/* the search direction */
	double		rho[LBFGS_MEM];
	double		alpha[LBFGS_MEM];
	int			head;
	int			stored;
	double		f;				/* the loss at x */
	double		fn;				/* at the trial point */
} Lb;

/*
 * The search direction d = -H g by the two-loop recursion, or steepest
 * descent when that is not a descent direction.
 */
static void
lb_direction(Lb *lb, double gnorm2)
{
	int64_t		n = lb->n;
	double	   *d = lb->d;
	double		gd;

	for (int64_t i = 0; i < n; i++)
		d[i] = -(double) lb->g[i];
	for (int k = 0; k < lb->stored; k++)
	{
		int			j = (lb->head - 1 - k + LBFGS_MEM) % LBFGS_MEM;

		lb->alpha[j] = lb->rho[j] * dot_fd(lb->S + (size_t) j * n, d, n);
		for (int64_t i = 0; i < n; i++)
			d[i] -= lb->alpha[j] * lb->Y[(size_t) j * n + i];
	}
	if (lb->stored > 0)
	{
		int			j = (lb->head - 1 + LBFGS_MEM) % LBFGS_MEM;
		float	   *yj = lb->Y + (size_t) j * n;
		double		gamma = 1.0 / (lb->rho[j] * dot_ff(yj, yj, n));

		for (int64_t i = 0; i < n; i++)
			d[i] *= gamma;
	}
	else
	{
		/* first step: length 1 in parameter space at most */
		double		sc = 1.0 / fmax(1.0, sqrt(gnorm2));

		for (int64_t i = 0; i < n; i++)
			d[i] *= sc;
	}
	for (int k = lb->stored - 1; k >= 0; k--)
	{
		int			j = (lb->head - 1 - k + LBFGS_MEM) % LBFGS_MEM;
		double		b = lb->rho[j] * dot_fd(lb->Y + (size_t) j * n, d, n);

		for (int64_t i = 0; i < n; i++)
			d[i] += (lb->alpha[j] - b) * lb->S[(size_t) j * n + i];
	}
	gd = dot_fd(lb->g, d, n);
	if (!(gd < 0.0))
	{
		/* not a descent direction: forget the curvature, steepest descent */
		double		sc = 1.0 / fmax(1.0, sqrt(gnorm2));

		lb->stored = 0;
		for (int64_t i = 0; i < n; i++)
			d[i] = -(double) lb->g[i] * sc;
	}
}

/*
 * Backtracking line search along d on the (projected) trial point:
 * *accepted when a point with enough decrease was found (xn, gn, fn).
 */
static DlfStatus
lb_line_search(Lb *lb, DlfLbfgsResult *res, int *accepted, DlfError *err)
{
	const DlfLbfgsProblem *p = lb->p;
	int64_t		n = lb->n;
	double		t = 1.0;
	DlfStatus	st;

	*accepted = 0;
	for (int ls = 0; ls < LBFGS_MAX_LS; ls++)
	{
		double		dec;

		for (int64_t i = 0; i < n; i++)
			lb->xn[i] = (float) ((double) lb->x[i] + t * lb->d[i]);
		if (p->project)
			p->project(p->arg, lb->xn);
		if ((st = p->eval(p->arg, lb->xn, lb->gn, &lb->fn, err)) != DLF_OK)
			return st;
		res->evals++;
		/* the decrease the step promises, from the point actually tried */
		dec = 0.0;
		for (int64_t i = 0; i < n; i++)
			dec += (double) lb->g[i] * ((double) lb->xn[i] - (double) lb->x[i]);
		if (isfinite(lb->fn) && lb->fn <= lb->f + LBFGS_C1 * fmin(dec, 0.0) &&
			lb->fn <= lb->f)
		{
			*accepted = 1;
			return DLF_OK;
		}
		if (p->interrupted && p->interrupted(p->arg))
			return dlf_fail(err, DLF_ERR_INTERRUPTED, "training interrupted");
		t *= LBFGS_SHRINK;
	}
	return DLF_OK;
}

/* Keeps the step's curvature pair, unless y.s > 0 fails (H stays positive definite). */
static void
lb_curvature(Lb *lb)
{
	int64_t		n = lb->n;
	float	   *sj = lb->S + (size_t) lb->head * n;
	float	   *yj = lb->Y + (size_t) lb->head * n;
	double		ys;

	for (int64_t i = 0; i < n; i++)
	{
		sj[i] = lb->xn[i] - lb->x[i];
		yj[i] = lb->gn[i] - lb->g[i];
	}
	ys = dot_ff(yj, sj, n);
	if (ys > 1e-10 * sqrt(dot_ff(yj, yj, n) * dot_ff(sj, sj, n)) && ys > 0.0)
	{
		lb->rho[lb->head] = 1.0 / ys;
		lb->head = (lb->head + 1) % LBFGS_MEM;
		if (lb->stored < LBFGS_MEM)
			lb->stored++;
	}
}

/* The iterations from a finite starting loss; see dlf_lbfgs. */
static DlfStatus
lb_iterate(Lb *lb, int32_t max_iter, DlfLbfgsResult *res, DlfError *err)
{
	const DlfLbfgsProblem *p = lb->p;
	DlfStatus	st;

	for (int32_t it = 1; it <= max_iter; it++)
	{
		double		gnorm2,
					rel;
		int			accepted;

		if (p->interrupted && p->interrupted(p->arg))
			return dlf_fail(err, DLF_ERR_INTERRUPTED, "training interrupted");
		gnorm2 = dot_ff(lb->g, lb->g, lb->n);
		if (sqrt(gnorm2) <= LBFGS_GTOL)
		{
			res->converged = 1;
			break;
		}
		lb_direction(lb, gnorm2);
		if ((st = lb_line_search(lb, res, &accepted, err)) != DLF_OK)
			return st;
		if (!accepted)
		{
			/* no decrease along the direction: a minimum at float precision */
			res->converged = 1;
			break;
		}
		lb_curvature(lb);
		memcpy(lb->x, lb->xn, lb->n * sizeof(float));
		memcpy(lb->g, lb->gn, lb->n * sizeof(float));
		res->iterations = it;
		rel = (lb->f - lb->fn) / fmax(fmax(fabs(lb->f), fabs(lb->fn)), 1.0);
		lb->f = lb->fn;
		res->loss = lb->f;
		if (p->iteration_done)
			p->iteration_done(p->arg, it, lb->f);
		if (rel <= LBFGS_FTOL)
		{
			res->converged = 1;
			break;
		}
	}
	return DLF_OK;
}

/* Minimises p's objective from x (in place); see lbfgs.h. */
DlfStatus
dlf_lbfgs(const DlfLbfgsProblem *p, float *x, int64_t n, int32_t max_iter,
		  DlfLbfgsResult *res, DlfError *err)
{
	Lb			lb;
	DlfStatus	st = DLF_OK;

	memset(&lb, 0, sizeof(lb));
	memset(res, 0, sizeof(*res));
	lb.p = p;
	lb.n = n;
	lb.x = x;
	lb.g = dlf_alloc_array_aligned(n, sizeof(float));
	lb.gn = dlf_alloc_array_aligned(n, sizeof(float));
	lb.xn = dlf_alloc_array_aligned(n, sizeof(float));
	lb.S = dlf_alloc_array_aligned((size_t) n * LBFGS_MEM, sizeof(float));
	lb.Y = dlf_alloc_array_aligned((size_t) n * LBFGS_MEM, sizeof(float));
	lb.d = dlf_alloc_array(n, sizeof(double));
	if (!lb.g || !lb.gn || !lb.xn || !lb.S || !lb.Y || !lb.d)
		st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
	else
	{
		if (p->project)
			p->project(p->arg, x);
		st = p->eval(p->arg, x, lb.g, &lb.f, err);
	}
	if (st == DLF_OK && !isfinite(lb.f))
		res->diverged = 1;
	else if (st == DLF_OK)
	{
		res->loss = lb.f;
		st = lb_iterate(&lb, max_iter, res, err);
	}
	dlf_free_aligned(lb.g);
	dlf_free_aligned(lb.gn);
	dlf_free_aligned(lb.xn);
	dlf_free_aligned(lb.S);
	dlf_free_aligned(lb.Y);
	dlf_free(lb.d);
	return st;
}
