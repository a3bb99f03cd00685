/*
 * points.h
 *	  Score points of a binary model (points.c): the scale and the maps
 *	  from a probability or a logit to points.
 *
 * Convention: points = offset + factor * ln(odds of good), factor = pdo /
 * ln 2 and offset = base_score - factor * ln(base_odds), so base_odds
 * good:bad odds score base_score and doubling the odds adds pdo points.
 * Which class is good follows the model's adverse side: the positive class
 * is good unless "adverse" is "positive".  Isotonic calibration is not
 * scaled to points: its map reaches probabilities 0 and 1, whose odds have
 * no finite points (the glue refuses the combination at training).
 */
#ifndef DLFIN_POINTS_H
#define DLFIN_POINTS_H

#include "dlfin_core.h"

/* Probabilities are kept within [DLF_POINTS_PMIN, 1 - DLF_POINTS_PMIN]. */
#define DLF_POINTS_PMIN		1e-15

/* A points scale: the "points" training option. */
typedef struct DlfPointsScale
{
	double		base_score;		/* points at base_odds */
	double		base_odds;		/* good:bad odds at base_score, > 0 */
	double		pdo;			/* points to double the odds, > 0 */
	int			rank_reasons;	/* dlfin_reasons ranks by points lost */
} DlfPointsScale;

/* factor = pdo / ln 2. */
double		dlf_points_factor(const DlfPointsScale *s);
/* offset = base_score - factor * ln(base_odds). */
double		dlf_points_offset(const DlfPointsScale *s);

/*
 * Points of a calibrated probability p of the positive class; adverse is
 * the model's DlfAdverse (which class is bad).
 */
double		dlf_points_of_prob(const DlfPointsScale *s, int adverse, double p);

/*
 * Points of a binary model's raw logit z (before calibration), and into
 * *dz (when not NULL) their derivative in z: what the explainer integrates.
 */
double		dlf_points_of_logit(const DlfModel *m, const DlfPointsScale *s,
								double z, double *dz);

/*
 * Reason features by points lost: indexes of up to k features with
 * negative points, most negative first, ties by feature position.
 */
int32_t		dlf_points_reasons(const double *points, int32_t nfeatures,
							   int32_t k, int32_t *idx);

/*
 * Makes the explainer (explain.c) explain a binary model's points on this
 * scale, with completeness in points; NULL goes back to probabilities.
 */
void		dlf_explainer_set_points(DlfExplainer *e, const DlfPointsScale *scale);

#endif							/* DLFIN_POINTS_H */
