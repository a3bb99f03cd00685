/*
 * codec_ensemble.c
 *	  Section ENSEMBLE (11, format version 2): the parameters of an
 *	  ensemble's members after the first, which is NETWORK; and section
 *	  SKIP (12, format version 3): the skip path's weights.
 *
 * ENSEMBLE's payload: u32 count of further members (1..DLF_MAX_ENSEMBLE -
 * 1; 0 too in version 3, where a single network has the section), then
 * per member the weights and biases of every layer in NETWORK's layout.
 * The decoder checks that the payload is exactly that many members of
 * NETWORK's parameter count before it allocates anything.
 *
 * SKIP's payload: for each member in order, units[0] x outputs f32 (row
 * major by input), exactly that many; every one finite.  From version 4
 * on (WoE features, codec_woe.c) it is empty when there is no skip path.
 */
#include "codec_internal.h"

#include <math.h>
#include <string.h>

/* The rules of the ensemble part of a model (before encoding, after decoding). */
DlfStatus
codec_check_ensemble(Ctx *c, const DlfModel *m)
{
	if (m->nmembers < 0 || m->nmembers > DLF_MAX_ENSEMBLE)
		return codec_bad(c, "The ensemble has %d members; the limit is %d.",
						 (int) m->nmembers, DLF_MAX_ENSEMBLE);
	if (m->nmembers <= 1)
		return DLF_OK;
	if (m->mweights == NULL || m->mbiases == NULL)
		return codec_bad(c, "The weights of the ensemble's members are missing.");
	for (int32_t e = 1; e < m->nmembers; e++)
		for (int32_t l = 0; l < m->nlayers; l++)
		{
			size_t		nw = (size_t) m->units[l] * (size_t) m->units[l + 1];
			const float *w = dlf_member_weights(m, e, l);
			const float *b = dlf_member_biases(m, e, l);

			if (w == NULL || b == NULL)
				return codec_bad(c, "The weights of layer %d of member %d are missing.",
								 (int) l + 1, (int) e + 1);
			for (size_t i = 0; i < nw; i++)
				if (!isfinite(w[i]))
					return codec_bad(c, "Weight %zu of layer %d of member %d is not finite.",
									 i + 1, (int) l + 1, (int) e + 1);
			for (int32_t i = 0; i < m->units[l + 1]; i++)
				if (!isfinite(b[i]))
					return codec_bad(c, "Bias %d of layer %d of member %d is not finite.",
									 (int) i + 1, (int) l + 1, (int) e + 1);
		}
	return DLF_OK;
}

/* ENSEMBLE: the further members' parameters, layer by layer. */
void
codec_enc_ensemble(DlfBuf *b, const DlfModel *m)
{
	codec_wr_u32(b, (uint32_t) (dlf_model_members(m) - 1));
	for (int32_t e = 1; e < m->nmembers; e++)
		for (int32_t l = 0; l < m->nlayers; l++)
		{
			codec_wr_f32_array(b, dlf_member_weights(m, e, l),
							   (size_t) m->units[l] * (size_t) m->units[l + 1]);
			codec_wr_f32_array(b, dlf_member_biases(m, e, l),
							   (size_t) m->units[l + 1]);
		}
}

/* Decodes ENSEMBLE after NETWORK: count first, then exactly its bytes. */
DlfStatus
codec_dec_ensemble(Rd *r, DlfModel *m)
{
	int32_t		n = 0;
	int64_t		params = dlf_model_nparams(m);
	size_t		slots;

	TRY(codec_rd_count(r, &n, DLF_MAX_ENSEMBLE - 1, 4, "further members"));
	if (n < 1 && r->c->version < 3)
		return codec_bad(r->c, "Section ENSEMBLE has no members.");
	if (n < 1)
		return r->pos == r->len ? DLF_OK :
			codec_bad(r->c, "Section ENSEMBLE has no members but %zu bytes of them.",
					  r->len - r->pos);
	if ((uint64_t) params * 4 * (uint64_t) n != (uint64_t) (r->len - r->pos))
		return codec_bad(r->c, "Section ENSEMBLE needs %lld bytes for %d members of %lld parameters but has %zu.",
						 (long long) params * 4 * n, (int) n,
						 (long long) params, r->len - r->pos);
	slots = (size_t) n * (size_t) m->nlayers;
	m->mweights = dlf_alloc0(slots * sizeof(float *));
	m->mbiases = dlf_alloc0(slots * sizeof(float *));
	if (m->mweights == NULL || m->mbiases == NULL)
		return codec_nomem(r->c);
	/* set now, so that dlf_model_free frees whatever was read */
	m->nmembers = n + 1;
	for (size_t i = 0; i < slots; i++)
	{
		int32_t		l = (int32_t) (i % (size_t) m->nlayers);

		TRY(codec_rd_f32_array(r, &m->mweights[i],
							   (size_t) m->units[l] * (size_t) m->units[l + 1]));
		TRY(codec_rd_f32_array(r, &m->mbiases[i], (size_t) m->units[l + 1]));
	}
	return codec_check_ensemble(r->c, m);
}

/* The format version a model is written in: 3 with a skip path, 2 for an
 * ensemble, else 1 (so a one-network model keeps the bytes of every dlfin). */
uint16_t
codec_format_version(const DlfModel *m)
{
	for (int32_t f = 0; f < m->nfeatures; f++)
		if (m->features[f].woe)
			return 4;			/* section WOE (codec_woe.c) */
	if (m->skip)
		return 3;
	return m->nmembers > 1 ? 2 : DLF_FORMAT_VERSION_SINGLE;
}

/* The rules of the skip path: every member's weights are finite. */
DlfStatus
codec_check_skip(Ctx *c, const DlfModel *m)
{
	int64_t		n = dlf_model_nskip(m) * dlf_model_members(m);

	for (int64_t i = 0; i < n; i++)
		if (!isfinite(m->skip[i]))
			return codec_bad(c, "Skip-path weight %lld is not finite.",
							 (long long) i + 1);
	return DLF_OK;
}

/* SKIP: every member's skip-path weights. */
void
codec_enc_skip(DlfBuf *b, const DlfModel *m)
{
	codec_wr_f32_array(b, m->skip,
					   (size_t) (dlf_model_nskip(m) * dlf_model_members(m)));
}

/* Decodes SKIP after ENSEMBLE: exactly the members' matrices. */
DlfStatus
codec_dec_skip(Rd *r, DlfModel *m)
{
	uint64_t	n = (uint64_t) m->units[0] * (uint64_t) m->units[m->nlayers] *
		(uint64_t) dlf_model_members(m);

	/* from version 4 on, a model without a skip path has it empty */
	if (r->c->version >= 4 && r->pos == r->len)
		return DLF_OK;
	if (n * 4 != (uint64_t) (r->len - r->pos))
		return codec_bad(r->c, "Section SKIP needs %llu bytes but has %zu.",
						 (unsigned long long) n * 4, r->len - r->pos);
	TRY(codec_rd_f32_array(r, &m->skip, (size_t) n));
	return codec_check_skip(r->c, m);
}
