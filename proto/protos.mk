# The Temporal API protos compiled into libtlwproto: the import closure of
# temporal/api/workflowservice/v1/request_response.proto. The protos themselves
# are fetched at build time (proto/fetch-protos.sh), never committed.
# Regenerate this list with proto/closure.py when the pinned API version moves.

TEMPORAL_PROTOS = \
	temporal/api/activity/v1/message.proto \
	temporal/api/batch/v1/message.proto \
	temporal/api/callback/v1/message.proto \
	temporal/api/command/v1/message.proto \
	temporal/api/common/v1/message.proto \
	temporal/api/compute/v1/config.proto \
	temporal/api/compute/v1/provider.proto \
	temporal/api/compute/v1/scaler.proto \
	temporal/api/deployment/v1/message.proto \
	temporal/api/enums/v1/activity.proto \
	temporal/api/enums/v1/batch_operation.proto \
	temporal/api/enums/v1/command_type.proto \
	temporal/api/enums/v1/common.proto \
	temporal/api/enums/v1/deployment.proto \
	temporal/api/enums/v1/event_type.proto \
	temporal/api/enums/v1/failed_cause.proto \
	temporal/api/enums/v1/namespace.proto \
	temporal/api/enums/v1/nexus.proto \
	temporal/api/enums/v1/query.proto \
	temporal/api/enums/v1/reset.proto \
	temporal/api/enums/v1/schedule.proto \
	temporal/api/enums/v1/task_queue.proto \
	temporal/api/enums/v1/time_skipping.proto \
	temporal/api/enums/v1/update.proto \
	temporal/api/enums/v1/workflow.proto \
	temporal/api/failure/v1/message.proto \
	temporal/api/filter/v1/message.proto \
	temporal/api/history/v1/message.proto \
	temporal/api/namespace/v1/message.proto \
	temporal/api/nexus/v1/message.proto \
	temporal/api/protocol/v1/message.proto \
	temporal/api/query/v1/message.proto \
	temporal/api/replication/v1/message.proto \
	temporal/api/rules/v1/message.proto \
	temporal/api/schedule/v1/message.proto \
	temporal/api/sdk/v1/event_group_marker.proto \
	temporal/api/sdk/v1/task_complete_metadata.proto \
	temporal/api/sdk/v1/user_metadata.proto \
	temporal/api/sdk/v1/worker_config.proto \
	temporal/api/taskqueue/v1/message.proto \
	temporal/api/update/v1/message.proto \
	temporal/api/version/v1/message.proto \
	temporal/api/worker/v1/message.proto \
	temporal/api/workflow/v1/message.proto \
	temporal/api/workflowservice/v1/request_response.proto

WKT_PROTOS = \
	google/protobuf/any.proto \
	google/protobuf/duration.proto \
	google/protobuf/empty.proto \
	google/protobuf/field_mask.proto \
	google/protobuf/timestamp.proto \
	google/protobuf/wrappers.proto

PROTO_GEN_C = \
	proto/gen/temporal/api/activity/v1/message.pb-c.c \
	proto/gen/temporal/api/batch/v1/message.pb-c.c \
	proto/gen/temporal/api/callback/v1/message.pb-c.c \
	proto/gen/temporal/api/command/v1/message.pb-c.c \
	proto/gen/temporal/api/common/v1/message.pb-c.c \
	proto/gen/temporal/api/compute/v1/config.pb-c.c \
	proto/gen/temporal/api/compute/v1/provider.pb-c.c \
	proto/gen/temporal/api/compute/v1/scaler.pb-c.c \
	proto/gen/temporal/api/deployment/v1/message.pb-c.c \
	proto/gen/temporal/api/enums/v1/activity.pb-c.c \
	proto/gen/temporal/api/enums/v1/batch_operation.pb-c.c \
	proto/gen/temporal/api/enums/v1/command_type.pb-c.c \
	proto/gen/temporal/api/enums/v1/common.pb-c.c \
	proto/gen/temporal/api/enums/v1/deployment.pb-c.c \
	proto/gen/temporal/api/enums/v1/event_type.pb-c.c \
	proto/gen/temporal/api/enums/v1/failed_cause.pb-c.c \
	proto/gen/temporal/api/enums/v1/namespace.pb-c.c \
	proto/gen/temporal/api/enums/v1/nexus.pb-c.c \
	proto/gen/temporal/api/enums/v1/query.pb-c.c \
	proto/gen/temporal/api/enums/v1/reset.pb-c.c \
	proto/gen/temporal/api/enums/v1/schedule.pb-c.c \
	proto/gen/temporal/api/enums/v1/task_queue.pb-c.c \
	proto/gen/temporal/api/enums/v1/time_skipping.pb-c.c \
	proto/gen/temporal/api/enums/v1/update.pb-c.c \
	proto/gen/temporal/api/enums/v1/workflow.pb-c.c \
	proto/gen/temporal/api/failure/v1/message.pb-c.c \
	proto/gen/temporal/api/filter/v1/message.pb-c.c \
	proto/gen/temporal/api/history/v1/message.pb-c.c \
	proto/gen/temporal/api/namespace/v1/message.pb-c.c \
	proto/gen/temporal/api/nexus/v1/message.pb-c.c \
	proto/gen/temporal/api/protocol/v1/message.pb-c.c \
	proto/gen/temporal/api/query/v1/message.pb-c.c \
	proto/gen/temporal/api/replication/v1/message.pb-c.c \
	proto/gen/temporal/api/rules/v1/message.pb-c.c \
	proto/gen/temporal/api/schedule/v1/message.pb-c.c \
	proto/gen/temporal/api/sdk/v1/event_group_marker.pb-c.c \
	proto/gen/temporal/api/sdk/v1/task_complete_metadata.pb-c.c \
	proto/gen/temporal/api/sdk/v1/user_metadata.pb-c.c \
	proto/gen/temporal/api/sdk/v1/worker_config.pb-c.c \
	proto/gen/temporal/api/taskqueue/v1/message.pb-c.c \
	proto/gen/temporal/api/update/v1/message.pb-c.c \
	proto/gen/temporal/api/version/v1/message.pb-c.c \
	proto/gen/temporal/api/worker/v1/message.pb-c.c \
	proto/gen/temporal/api/workflow/v1/message.pb-c.c \
	proto/gen/temporal/api/workflowservice/v1/request_response.pb-c.c \
	proto/gen/google/protobuf/any.pb-c.c \
	proto/gen/google/protobuf/duration.pb-c.c \
	proto/gen/google/protobuf/empty.pb-c.c \
	proto/gen/google/protobuf/field_mask.pb-c.c \
	proto/gen/google/protobuf/timestamp.pb-c.c \
	proto/gen/google/protobuf/wrappers.pb-c.c

PROTO_GEN_H = \
	proto/gen/temporal/api/activity/v1/message.pb-c.h \
	proto/gen/temporal/api/batch/v1/message.pb-c.h \
	proto/gen/temporal/api/callback/v1/message.pb-c.h \
	proto/gen/temporal/api/command/v1/message.pb-c.h \
	proto/gen/temporal/api/common/v1/message.pb-c.h \
	proto/gen/temporal/api/compute/v1/config.pb-c.h \
	proto/gen/temporal/api/compute/v1/provider.pb-c.h \
	proto/gen/temporal/api/compute/v1/scaler.pb-c.h \
	proto/gen/temporal/api/deployment/v1/message.pb-c.h \
	proto/gen/temporal/api/enums/v1/activity.pb-c.h \
	proto/gen/temporal/api/enums/v1/batch_operation.pb-c.h \
	proto/gen/temporal/api/enums/v1/command_type.pb-c.h \
	proto/gen/temporal/api/enums/v1/common.pb-c.h \
	proto/gen/temporal/api/enums/v1/deployment.pb-c.h \
	proto/gen/temporal/api/enums/v1/event_type.pb-c.h \
	proto/gen/temporal/api/enums/v1/failed_cause.pb-c.h \
	proto/gen/temporal/api/enums/v1/namespace.pb-c.h \
	proto/gen/temporal/api/enums/v1/nexus.pb-c.h \
	proto/gen/temporal/api/enums/v1/query.pb-c.h \
	proto/gen/temporal/api/enums/v1/reset.pb-c.h \
	proto/gen/temporal/api/enums/v1/schedule.pb-c.h \
	proto/gen/temporal/api/enums/v1/task_queue.pb-c.h \
	proto/gen/temporal/api/enums/v1/time_skipping.pb-c.h \
	proto/gen/temporal/api/enums/v1/update.pb-c.h \
	proto/gen/temporal/api/enums/v1/workflow.pb-c.h \
	proto/gen/temporal/api/failure/v1/message.pb-c.h \
	proto/gen/temporal/api/filter/v1/message.pb-c.h \
	proto/gen/temporal/api/history/v1/message.pb-c.h \
	proto/gen/temporal/api/namespace/v1/message.pb-c.h \
	proto/gen/temporal/api/nexus/v1/message.pb-c.h \
	proto/gen/temporal/api/protocol/v1/message.pb-c.h \
	proto/gen/temporal/api/query/v1/message.pb-c.h \
	proto/gen/temporal/api/replication/v1/message.pb-c.h \
	proto/gen/temporal/api/rules/v1/message.pb-c.h \
	proto/gen/temporal/api/schedule/v1/message.pb-c.h \
	proto/gen/temporal/api/sdk/v1/event_group_marker.pb-c.h \
	proto/gen/temporal/api/sdk/v1/task_complete_metadata.pb-c.h \
	proto/gen/temporal/api/sdk/v1/user_metadata.pb-c.h \
	proto/gen/temporal/api/sdk/v1/worker_config.pb-c.h \
	proto/gen/temporal/api/taskqueue/v1/message.pb-c.h \
	proto/gen/temporal/api/update/v1/message.pb-c.h \
	proto/gen/temporal/api/version/v1/message.pb-c.h \
	proto/gen/temporal/api/worker/v1/message.pb-c.h \
	proto/gen/temporal/api/workflow/v1/message.pb-c.h \
	proto/gen/temporal/api/workflowservice/v1/request_response.pb-c.h \
	proto/gen/google/protobuf/any.pb-c.h \
	proto/gen/google/protobuf/duration.pb-c.h \
	proto/gen/google/protobuf/empty.pb-c.h \
	proto/gen/google/protobuf/field_mask.pb-c.h \
	proto/gen/google/protobuf/timestamp.pb-c.h \
	proto/gen/google/protobuf/wrappers.pb-c.h

