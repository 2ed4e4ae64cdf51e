/*
 * worker/replay: the offline replayer. A run's whole history, from a JSON
 * file (as `temporal workflow show --output json` or the Python SDK's
 * WorkflowHistory.to_json() write it) or fetched by workflow id from the
 * server, replayed against the workflows a bootstrap registers: the way to
 * check, before deploying, that changed workflow code still replays the
 * runs in flight.
 */
#ifndef TLW_WORKER_REPLAY_H
#define TLW_WORKER_REPLAY_H

#include <stdio.h>

#include "conf/worker_config.h"
#include "temporal/api/history/v1/message.pb-c.h"

/* Replays `history` with the workflows of `cfg`. TLW_OK if it replays
 * cleanly; TLW_ERR_FAILED with `err` naming the nondeterminism (or what else
 * failed the replay). */
tlw_status tlw_replay_history(const tlw_config *cfg, const Temporal__Api__History__V1__History *history,
                              const char *workflow_id, tlw_error *err);

/* The same for a JSON file. */
tlw_status tlw_replay_file(const tlw_config *cfg, const char *path, tlw_error *err);

/* The same for the run of `workflow_id` (its latest run) on the configured
 * server. */
tlw_status tlw_replay_workflow(const tlw_config *cfg, const char *workflow_id, tlw_error *err);

#endif
