/* Shared by the trial command files (cmd_trial.c, cmd_trial_data.c): opening the
 * database and the key from the options, and the commands defined in the data file. */
#ifndef LEOPARDS_CLI_CMD_TRIAL_H
#define LEOPARDS_CLI_CMD_TRIAL_H

#include <leopards/trial.h>

#include "cli.h"

/* Every command that opens a trial takes the audit key file (writes need it once the
 * trial has one; read-only commands ignore a key that is absent). */
#define CLI_AUDIT_KEY_OPT \
  { "audit-key", "FILE", "audit key file (default: DB.audit-key beside the database)" }

/* Open --db / load --key; on failure print the error and return the exit code.
 * cli_trial_open also loads the audit key: --audit-key, else DB.audit-key when it
 * exists. */
int cli_trial_open(const cli_args *a, lp_trial **t);
/* The same for a command that only reads: nothing is written to the trial. */
int cli_trial_open_readonly(const cli_args *a, lp_trial **t);
int cli_trial_key(const cli_args *a, lp_trial *t, lp_trial_key **k);

extern const cli_opt cli_record_opts[], cli_record_any_opts[], cli_delete_opts[], cli_verify_opts[], cli_log_opts[],
    cli_export_opts[], cli_import_opts[], cli_backup_opts[], cli_restore_opts[];
int cli_run_backup(const cli_args *a);
int cli_run_restore(const cli_args *a);
int cli_run_record(const cli_args *a);
int cli_run_delete(const cli_args *a);
int cli_run_verify(const cli_args *a);
int cli_run_checkpoint(const cli_args *a);
extern const cli_opt cli_checkpoint_opts[];
int cli_run_log(const cli_args *a);
int cli_run_export(const cli_args *a);
int cli_run_import(const cli_args *a);

#endif
