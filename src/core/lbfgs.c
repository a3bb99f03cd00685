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

/* Minimises p's objective from x (in place); see lbfgs.h. */
DlfStatus
dlf_lbfgs(const DlfLbfgsProblem *p, float *x, int64_t n, int32_t max_iter,
		  DlfLbfgsResult *res, DlfError *err)
{
	float	   *g = dlf_alloc_array_aligned(n, sizeof(float));
	float	   *gn = dlf_alloc_array_aligned(n, sizeof(float));
	float	   *xn = dlf_alloc_array_aligned(n, sizeof(float));
	float	   *S = dlf_alloc_array_aligned((size_t) n * LBFGS_MEM, sizeof(float));
	float	   *Y = dlf_alloc_array_aligned((size_t) n * LBFGS_MEM, sizeof(float));
	double	   *d = dlf_alloc_array(n, sizeof(double));
	double		rho[LBFGS_MEM],
				alpha[LBFGS_MEM];
	int			head = 0,
				stored = 0;
	double		f;
	DlfStatus	st = DLF_OK;
	int32_t		it;

	memset(res, 0, sizeof(*res));
	if (!g || !gn || !xn || !S || !Y || !d)
	{
		st = dlf_fail(err, DLF_ERR_NOMEM, "out of memory");
		goto done;
	}
	if (p->project)
		p->project(p->arg, x);
	if ((st = p->eval(p->arg, x, g, &f, err)) != DLF_OK)
		goto done;
	if (!isfinite(f))
	{
		res->diverged = 1;
		goto done;
	}
	res->loss = f;
	for (it = 1; it <= max_iter; it++)
	{
		double		gd,
					gnorm2,
					t,
					fn = f;
		int			ls,
					accepted = 0;

		if (p->interrupted && p->interrupted(p->arg))
		{
			st = dlf_fail(err, DLF_ERR_INTERRUPTED, "training interrupted");
			goto done;
		}
		gnorm2 = dot_ff(g, g, n);
		if (sqrt(gnorm2) <= LBFGS_GTOL)
		{
			res->converged = 1;
			break;
		}
		/* two-loop recursion: d = -H g */
		for (int64_t i = 0; i < n; i++)
			d[i] = -(double) g[i];
		for (int k = 0; k < stored; k++)
		{
			int			j = (head - 1 - k + LBFGS_MEM) % LBFGS_MEM;

			alpha[j] = rho[j] * dot_fd(S + (size_t) j * n, d, n);
			for (int64_t i = 0; i < n; i++)
				d[i] -= alpha[j] * Y[(size_t) j * n + i];
		}
		if (stored > 0)
		{
			int			j = (head - 1 + LBFGS_MEM) % LBFGS_MEM;
			float	   *yj = Y + (size_t) j * n;
			double		gamma = 1.0 / (rho[j] * dot_ff(yj, yj, n));

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
		for (int k = stored - 1; k >= 0; k--)
		{
			int			j = (head - 1 - k + LBFGS_MEM) % LBFGS_MEM;
			double		b = rho[j] * dot_fd(Y + (size_t) j * n, d, n);

			for (int64_t i = 0; i < n; i++)
				d[i] += (alpha[j] - b) * S[(size_t) j * n + i];
		}
		gd = dot_fd(g, d, n);
		if (!(gd < 0.0))
		{
			/* not a descent direction: forget the curvature, steepest descent */
			double		sc = 1.0 / fmax(1.0, sqrt(gnorm2));

			stored = 0;
			for (int64_t i = 0; i < n; i++)
				d[i] = -(double) g[i] * sc;
			gd = -gnorm2 * sc;
		}
		/* backtracking line search on the (projected) trial point */
		t = 1.0;
		for (ls = 0; ls < LBFGS_MAX_LS; ls++)
		{
			double		dec;

			for (int64_t i = 0; i < n; i++)
				xn[i] = (float) ((double) x[i] + t * d[i]);
			if (p->project)
				p->project(p->arg, xn);
			if ((st = p->eval(p->arg, xn, gn, &fn, err)) != DLF_OK)
				goto done;
			res->evals++;
			/* the decrease the step promises, from the point actually tried */
			dec = 0.0;
			for (int64_t i = 0; i < n; i++)
				dec += (double) g[i] * ((double) xn[i] - (double) x[i]);
			if (isfinite(fn) && fn <= f + LBFGS_C1 * fmin(dec, 0.0) && fn <= f)
			{
				accepted = 1;
				break;
			}
			if (p->interrupted && p->interrupted(p->arg))
			{
				st = dlf_fail(err, DLF_ERR_INTERRUPTED, "training interrupted");
				goto done;
			}
			t *= LBFGS_SHRINK;
		}
		if (!accepted)
		{
			/* no decrease along the direction: a minimum at float precision */
			res->converged = 1;
			break;
		}
		/* curvature pair; skipped unless y.s > 0 (keeps H positive definite) */
		{
			float	   *sj = S + (size_t) head * n;
			float	   *yj = Y + (size_t) head * n;
			double		ys;

			for (int64_t i = 0; i < n; i++)
			{
				sj[i] = xn[i] - x[i];
				yj[i] = gn[i] - g[i];
			}
			ys = dot_ff(yj, sj, n);
			if (ys > 1e-10 * sqrt(dot_ff(yj, yj, n) * dot_ff(sj, sj, n)) &&
				ys > 0.0)
			{
				rho[head] = 1.0 / ys;
				head = (head + 1) % LBFGS_MEM;
				if (stored < LBFGS_MEM)
					stored++;
			}
		}
		memcpy(x, xn, n * sizeof(float));
		memcpy(g, gn, n * sizeof(float));
		res->iterations = it;
		{
			double		rel = (f - fn) / fmax(fmax(fabs(f), fabs(fn)), 1.0);

			f = fn;
			res->loss = f;
			if (p->iteration_done)
				p->iteration_done(p->arg, it, f);
			if (rel <= LBFGS_FTOL)
			{
				res->converged = 1;
				break;
			}
		}
	}
done:
	dlf_free_aligned(g);
	dlf_free_aligned(gn);
	dlf_free_aligned(xn);
	dlf_free_aligned(S);
	dlf_free_aligned(Y);
	dlf_free(d);
	return st;
}
