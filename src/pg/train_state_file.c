/*
 * train_state_file.c
 *	  The rows of a partial dlfin_train state handed to the parallel leader
 *	  through a temporary file instead of the tuple queue.
 *
 *	  A partial state's serial form holds every buffered row.  Through the
 *	  tuple queue the leader would hold the worker's whole message (the
 *	  queue reads it into one buffer), its own state's serial form and the
 *	  combined state at once: about twice the rows.  Under a Gather the
 *	  serial form's consumer is always the leader of the same query on the
 *	  same machine, so there the rows go to a file (freed as written) and
 *	  the serial form names it; the combine reads them straight into the
 *	  combined state's arrays.  Elsewhere (a plain partial aggregate, a
 *	  Citus worker) the serial form stays self-contained.
 *
 *	  The files are PostgreSQL temporary files, made, read and removed
 *	  through fd.c as a parallel sort's or hash join's shared files are:
 *	  each counts against its writer's temp_file_limit while it is written
 *	  (an error 53400 past it), its removal is logged by log_temp_files and
 *	  counted in pg_stat_database, and it goes to the writer's next
 *	  tablespace of temp_tablespaces (else the database's), whose OID the
 *	  serial form carries so that the leader finds it.  A file is named
 *	  after the leader's PID, the writer's PID and a counter, so only
 *	  integers make up a path.
 *
 *	  The leader removes each file as it opens it.  A file being written
 *	  when its writer's transaction fails is removed by the writer.  Files a
 *	  failed query never read are removed at the end of the leader's
 *	  transaction by a sweep of its own (below), or by the server's start
 *	  (which empties pgsql_tmp) if the leader dies: fd.c's own removal of
 *	  shared files (a SharedFileSet, removed when the last process detaches
 *	  from its DSM segment) needs the leader to make the set before it
 *	  starts the workers, which an aggregate's functions, called only
 *	  inside the plan, cannot do.
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "commands/tablespace.h"
#include "common/file_utils.h"	/* PG_TEMP_FILE_PREFIX from PostgreSQL 16 */
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "nodes/pg_list.h"
#include "storage/fd.h"
#include "storage/proc.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "train_state.h"

/* most bytes one read or write call moves (an int in PostgreSQL 15) */
#define SPILL_CHUNK ((Size) 64 * 1024 * 1024)
/* most tablespaces of temp_tablespaces the leader's sweep looks in */
#define SPILL_MAX_SPACES 64

static uint64 spill_seq = 0;
static bool spill_callback = false; /* the xact callback is registered */
static bool spill_pending = false;	/* the leader's files may be left: sweep */
/* tablespaces whose pgsql_tmp the leader's sweep looks in (TopMemoryContext) */
static List *spill_spaces = NIL;
/* the file this process is writing, removed if its transaction fails */
static char spill_writing[MAXPGPATH] = "";

/*
 * A temporary file's tablespace as fd.c's OpenTemporaryFile picks it:
 * InvalidOid (temp_tablespaces empty, or naming the database's default)
 * stands for the database's tablespace.
 */
static Oid
spill_space(Oid ts)
{
	return OidIsValid(ts) ? ts : MyDatabaseTableSpace;
}

/*
 * The path of writer's spill file seq in tablespace ts: named after this
 * process's parallel leader (itself in the leader, whose lock group it
 * leads), which the writer and the reader share.
 */
static void
spill_path(char *path, Oid ts, int writer, int64 seq)
{
	char		dir[MAXPGPATH];
	int			leader = MyProc->lockGroupLeader ? MyProc->lockGroupLeader->pid : MyProcPid;

	TempTablespacePath(dir, ts);
	snprintf(path, MAXPGPATH, "%s/%s%d.dlfin.%d." INT64_FORMAT,
			 dir, PG_TEMP_FILE_PREFIX, leader, writer, seq);
}

/*
 * Removes the leader's spill files left in the tablespaces it noted.
 * Never throws: before a commit (an error would still abort it) or during
 * an abort; plain opendir, as AllocateDir may error out.
 */
static void
spill_sweep(void)
{
	char		prefix[64];
	int			plen;
	ListCell   *lc;

	plen = snprintf(prefix, sizeof(prefix), "%s%d.dlfin.", PG_TEMP_FILE_PREFIX, MyProcPid);
	foreach(lc, spill_spaces)
	{
		char		dir[MAXPGPATH];
		DIR		   *d;
		struct dirent *de;

		TempTablespacePath(dir, lfirst_oid(lc));
		d = opendir(dir);
		if (d == NULL)
			continue;
		while ((de = readdir(d)) != NULL)
		{
			char		path[MAXPGPATH];

			if (strncmp(de->d_name, prefix, plen) != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			/* logs (log_temp_files) and counts its size; LOG on failure */
			(void) PathNameDeleteTemporaryFile(path, false);
		}
		closedir(d);
	}
}

/*
 * At the end of a transaction: a file this process was writing when its
 * transaction failed (a write error, temp_file_limit, a cancel) is
 * removed, and in the leader, if its query may have left files, so are
 * they.  Parallel workers end their own transaction before the leader's
 * ends (it waits for them to exit first).
 */
static void
spill_xact_cb(XactEvent event, void *arg)
{
	bool		abort = event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT;

	if (!abort && event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE &&
		event != XACT_EVENT_PARALLEL_PRE_COMMIT)
		return;
	if (abort && spill_writing[0] != '\0')
		(void) PathNameDeleteTemporaryFile(spill_writing, false);
	spill_writing[0] = '\0';
	if (spill_pending && event != XACT_EVENT_PARALLEL_ABORT &&
		event != XACT_EVENT_PARALLEL_PRE_COMMIT)
		spill_sweep();
	spill_pending = false;
	list_free(spill_spaces);
	spill_spaces = NIL;
}

static void
spill_register_callback(void)
{
	if (spill_callback)
		return;
	RegisterXactCallback(spill_xact_cb, NULL);
	spill_callback = true;
}

/* Adds tablespace ts to those the leader's sweep looks in. */
static void
spill_note_space(Oid ts)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	spill_spaces = list_append_unique_oid(spill_spaces, ts);
	MemoryContextSwitchTo(old);
}

/*
 * Asks for the sweep of the leader's spill files at transaction end, in
 * the tablespaces its workers may write to: those of temp_tablespaces
 * (the workers run with the leader's settings) and the database's.
 */
static void
spill_register_sweep(void)
{
	Oid			spaces[SPILL_MAX_SPACES];
	int			n;

	spill_register_callback();
	spill_pending = true;
	PrepareTempTablespaces();
	n = GetTempTablespaces(spaces, lengthof(spaces));
	spill_note_space(spill_space(InvalidOid));
	for (int i = 0; i < n; i++)
		spill_note_space(spill_space(spaces[i]));
}

/*
 * Called as a state is made: in a parallel query's leader, workers may be
 * writing files already, so sweep at the end of this transaction (an
 * error before any state reaches the combine would leave them otherwise).
 */
void
train_state_spill_expect(void)
{
	if (IsInParallelMode() && !IsParallelWorker())
		spill_register_sweep();
}

/*
 * Whether a serial function called with fcinfo may spill the rows: a
 * consumable state of a partial aggregate running under a Gather (the
 * query's DSA is installed then, in the workers and in the leader's own
 * part of the plan; never above the Gather).
 */
bool
train_state_spillable(FunctionCallInfo fcinfo)
{
	AggState   *agg;

	if (!train_state_consumable(fcinfo))
		return false;
	agg = (AggState *) fcinfo->context;
	if (!DO_AGGSPLIT_SERIALIZE(agg->aggsplit) || agg->ss.ps.state->es_query_dsa == NULL)
		return false;
	/* a leader participating in the scan holds the file names (its PID) */
	if (!IsParallelWorker())
		spill_register_sweep();
	return true;
}

/*
 * Writes len bytes at *off of file; FileWrite errors out past
 * temp_file_limit (the abort removes the file then).
 */
static void
spill_write(File file, off_t *off, const char *p, Size len)
{
	while (len > 0)
	{
		int			w = (int) FileWrite(file, (char *) p, (int) Min(len, SPILL_CHUNK),
										*off, WAIT_EVENT_BUFFILE_WRITE);

		if (w <= 0)
		{
			if (w == 0)
				errno = ENOSPC;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write to temporary file \"%s\": %m",
							spill_writing)));
		}
		p += w;
		*off += w;
		len -= w;
	}
}

/*
 * Writes the state's row arrays (labels, then each column: the layout of
 * the inline serial form) to a new spill file, freeing each once written,
 * and appends the file's name (tablespace, writer PID, counter) to buf.
 */
void
train_state_spill_rows(TrainState *st, StringInfo buf)
{
	int64		seq = (int64) spill_seq++;
	int64		n = st->nrows;
	Oid			ts;
	File		file;
	off_t		off = 0;
	void	   *lab = st->label_val ? (void *) st->label_val : (void *) st->label_code;

	PrepareTempTablespaces();
	ts = spill_space(GetNextTempTableSpace());
	spill_register_callback();
	spill_path(spill_writing, ts, MyProcPid, seq);
	/* not O_EXCL: a file of this name is a leftover of an earlier PID */
	file = PathNameCreateTemporaryFile(spill_writing, false);
	if (file <= 0)
	{
		char		dir[MAXPGPATH];

		/* a tablespace's pgsql_tmp is made on its first temporary file */
		TempTablespacePath(dir, ts);
		(void) MakePGDirectory(dir);
		file = PathNameCreateTemporaryFile(spill_writing, true);
	}
	spill_write(file, &off, lab, n * (st->label_val ? sizeof(double) : sizeof(uint16)));
	pfree(lab);
	st->label_val = NULL;
	st->label_code = NULL;
	for (int32 f = 0; f < st->nfeat; f++)
	{
		TrainColumn *c = &st->cols[f];
		void	   *col = c->type.sqltype == DLF_SQL_TEXT ? (void *) c->cat : (void *) c->num;

		CHECK_FOR_INTERRUPTS();
		spill_write(file, &off, col, 4 * n);
		pfree(col);
		c->cat = NULL;
		c->num = NULL;
	}
	/* a close that fails is only logged by fd.c; the reader checks the size */
	FileClose(file);
	spill_writing[0] = '\0';
	pq_sendint32(buf, ts);
	pq_sendint32(buf, MyProcPid);
	pq_sendint64(buf, seq);
}

/*
 * Reads a spilled state's file name from buf; the file itself is opened
 * by train_state_spill_open when the combine merges the state.
 */
void
train_state_spill_recv(StringInfo buf, TrainState *st)
{
	st->spill_space = pq_getmsgint(buf, 4);
	st->spill_writer = pq_getmsgint(buf, 4);
	st->spill_seq = pq_getmsgint64(buf);
	if (!OidIsValid(st->spill_space) || st->spill_writer <= 0 || st->spill_seq < 0)
		elog(ERROR, "dlfin_train: invalid serialized state");
	spill_register_sweep();
	spill_note_space(st->spill_space);
}

/*
 * Opens a spilled state's file and removes it at once: the open file
 * keeps its data until closed, here or at the end of the transaction.
 * Checks that it holds `need' bytes.
 */
void
train_state_spill_open(TrainState *st, Size need)
{
	char		path[MAXPGPATH];

	spill_path(path, st->spill_space, st->spill_writer, st->spill_seq);
	st->spill_file = PathNameOpenTemporaryFile(path, O_RDONLY | PG_BINARY);
	if (st->spill_file <= 0)
		elog(ERROR, "dlfin_train: invalid serialized state (file \"%s\": %m)", path);
	/* logs (log_temp_files) and counts the file's size */
	(void) PathNameDeleteTemporaryFile(path, true);
	if (FileSize(st->spill_file) != (off_t) need)
		elog(ERROR, "dlfin_train: invalid serialized state");
}

/* Reads len bytes at offset off of an open spill file into to. */
void
train_state_spill_read(const TrainState *st, Size off, void *to, Size len)
{
	char	   *p = to;

	while (len > 0)
	{
		int			r = (int) FileRead(st->spill_file, p, (int) Min(len, SPILL_CHUNK),
									   (off_t) off, WAIT_EVENT_BUFFILE_READ);

		if (r < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read a dlfin_train partial state: %m")));
		if (r == 0)
			elog(ERROR, "dlfin_train: invalid serialized state");
		p += r;
		off += r;
		len -= r;
	}
}

/* Closes a spilled state's file once its rows are merged. */
void
train_state_spill_close(TrainState *st)
{
	if (st->spill_file > 0)
		FileClose(st->spill_file);
	st->spill_file = -1;
}
