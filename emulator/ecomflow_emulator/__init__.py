"""ecomflow_emulator: the local AWS of ecomflow-infra.

moto (PyPI `moto[server]` 5.2.1) answers the AWS control plane and is lenient. This package
runs moto's server with additions, so that local runs behave as AWS does: operations the full
dev stack calls that moto lacks, rules AWS enforces that moto skips (IAM for role credentials
above all), and fixes where moto loses data under concurrency or slows down as it fills. Each
addition below says what moto does, what AWS documents, and the page it follows; the function
that makes it carries the same page in its docstring. The quickstart, `local serve` users and
every integration test run it.

Starting it
-----------
One command, in the foreground:

    scripts/emulator --port 5000 [--host 127.0.0.1] [--tls-terminated]

It prints `emulator listening on http://127.0.0.1:5000` once it accepts connections and serves
until Ctrl-C or SIGTERM; `--port 0` takes a free port and names it in that line.
`--tls-terminated` takes every request as made over TLS (see the IAM rules below). Clients reach
it with `AWS_ENDPOINT_URL=http://127.0.0.1:5000`, any access key (`test`/`test`) and region
`us-east-1`: the tool (`ecomflow-infra -s stacks/local.yaml ...`), a notebook, boto3, or the AWS
CLI with `--endpoint-url`. `MOTO_ACCESS_LOG=0` drops the line it logs per request.

`scripts/emulator` runs `python -m ecomflow_emulator` with the project's own virtualenv
(`target/emulator-venv`), which `scripts/ensure-emulator` makes from `emulator/requirements.txt`
(every dependency pinned; never the system Python) and remakes when that file changes. The
quickstart, the Rust tests' harness (`tests/testkit/src/moto.rs`, one emulator per test) and
this package's own tests (`emulator/tests`) all start it through that script.

Layout
------
- `server`: the command; `install()` puts every addition below into moto, `main()` serves.
- `glue`, `redshift`, `apigateway`, `kinesis`, `dynamodb`, `cognito`, `firehose`, `athena`,
  `sns`, `lambda_` (Lambda; `lambda` is a keyword), `logs` (CloudWatch Logs), `s3`, `kms`,
  `wafv2` (AWS WAF), `cloudformation` (CloudFormation stacks of the services above): one
  module per service; `firehose_sse` holds Firehose's server-side encryption. Redshift's has four helpers: `redshift_engine` (the
  PostgreSQL server behind each cluster), `redshift_sql` (Redshift SQL made PostgreSQL's, COPY
  parsed), `redshift_copy` (COPY and COPY JOB over moto's S3) and `redshift_config` (parameter
  groups, RebootCluster, audit logging).
- `iam_eval`: the IAM policy evaluator (pure functions, usable without moto) and its hook.
- `iam_extras`: the IAM calls auditors make that moto lacks (access-advisor reports,
  ListOrganizationsFeatures).
- `emulator/tests`: a test per rule, with a case AWS allows and one it refuses where the rule
  refuses something (`python -m unittest discover -s emulator/tests`, run by scripts/test).

Operations added (moto 5.2.1 answers "not implemented")
-------------------------------------------------------
Each is added only where the installed moto lacks it, so a newer moto that has one wins.

- Glue DeleteConnection, and UpdateConnection, whose ConnectionInput redefines the whole
  connection (its tags stay with its ARN); an unknown name is EntityNotFoundException.
  https://docs.aws.amazon.com/glue/latest/webapi/API_DeleteConnection.html
  https://docs.aws.amazon.com/glue/latest/webapi/API_UpdateConnection.html
- Glue UpdateCrawler: changes the fields given, keeps the others.
  https://docs.aws.amazon.com/glue/latest/webapi/API_UpdateCrawler.html
- Glue UpdateJob: "the previous job definition is completely overwritten"; what JobUpdate
  leaves out is reset.
  https://docs.aws.amazon.com/glue/latest/webapi/API_UpdateJob.html
- Glue SearchTables (the catalog's tables, narrowed by SearchText, Filters matched by token,
  MaxResults/NextToken) and GetMLTransforms (none are emulated: an empty list), which
  auditors call.
  https://docs.aws.amazon.com/glue/latest/webapi/API_SearchTables.html
  https://docs.aws.amazon.com/glue/latest/webapi/API_GetMLTransforms.html
- Redshift ModifyClusterIamRoles: RemoveIamRoles taken off, AddIamRoles added.
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_ModifyClusterIamRoles.html
- Redshift ModifyClusterParameterGroup, ResetClusterParameterGroup (named parameters or all)
  and RebootCluster (which applies the pending parameter group changes), `redshift_config`.
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_ModifyClusterParameterGroup.html
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_ResetClusterParameterGroup.html
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_RebootCluster.html
- Redshift S3 event integrations: CreateIntegration (an S3 bucket ARN into a cluster's
  namespace ARN, refused unless the bucket policy lets redshift.amazonaws.com
  s3:GetBucketNotification/PutBucketNotification/GetBucketLocation and the cluster's resource
  policy lets it redshift:AuthorizeInboundIntegration from the bucket), DescribeIntegrations,
  ModifyIntegration, DeleteIntegration; PutResourcePolicy, GetResourcePolicy,
  DeleteResourcePolicy (`redshift`).
  https://docs.aws.amazon.com/redshift/latest/dg/loading-data-copy-job.html
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_CreateIntegration.html
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_PutResourcePolicy.html
- Redshift Data API BatchExecuteStatement (one transaction), ListStatements; CancelStatement
  stops the running query.
  https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_BatchExecuteStatement.html
  https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ListStatements.html
- API Gateway TagResource and UntagResource on a REST API's ARN
  (`arn:aws:apigateway:<region>::/restapis/<id>`; moto handles only a stage's), so a REST
  API's tags can change after its creation.
  https://docs.aws.amazon.com/apigateway/latest/api/API_TagResource.html
  https://docs.aws.amazon.com/apigateway/latest/api/API_UntagResource.html
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-tagging.html
- Cognito DescribeRiskConfiguration and SetRiskConfiguration, per pool or app client (a client
  without its own inherits the pool's; a pool with none set answers just its UserPoolId).
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_DescribeRiskConfiguration.html
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SetRiskConfiguration.html
- IAM GenerateServiceLastAccessedDetails and GetServiceLastAccessedDetails (`iam_extras`): a
  report COMPLETED at once, listing each service the entity's policies allow by name, none
  accessed (the emulator tracks no access); unknown entities and jobs are NoSuchEntity (404).
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_GenerateServiceLastAccessedDetails.html
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetServiceLastAccessedDetails.html
- IAM ListOrganizationsFeatures (`iam_extras`): OrganizationNotFoundException without an
  organization, the page's other refusals (member account, not all features, no trusted
  access for IAM), else the organization's ID and no features.
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListOrganizationsFeatures.html

- Athena UpdateWorkGroup: Description, State and each ConfigurationUpdates field given
  (ResultConfigurationUpdates with its Remove... flags, EnforceWorkGroupConfiguration,
  PublishCloudWatchMetricsEnabled, BytesScannedCutoffPerQuery, RequesterPaysEnabled,
  EngineVersion, ...); the rest stays.
  https://docs.aws.amazon.com/athena/latest/APIReference/API_UpdateWorkGroup.html
  https://docs.aws.amazon.com/athena/latest/APIReference/API_WorkGroupConfigurationUpdates.html
- AWS WAF ListResourcesForWebACL (`wafv2`): the web ACL's associated resources of the
  ResourceType asked for (APPLICATION_LOAD_BALANCER when none is), API_GATEWAY stages
  included; a web ACL that does not exist is WAFNonexistentItemException.
  https://docs.aws.amazon.com/waf/latest/APIReference/API_ListResourcesForWebACL.html

What AWS reports that moto does not
-----------------------------------
- Glue job runs really run (`glue_run`; its module documentation has every step):
  StartJobRun of a Spark job (`glueetl`) stages the run's S3 arguments (DefaultArguments,
  then the run's Arguments, then NonOverridableArguments, plus --JOB_NAME and --JOB_RUN_ID)
  onto local folders, with what S3 holds there downloaded, runs Command.ScriptLocation with
  the venv's PySpark 3.5.4 (Glue 5.0's Spark; `local[2]`, UTC, 2 GB driver; for speed, the
  JVM's serial collector and client compiler and a rarer Python collector,
  `emulator/glue_run_site`) and a minimal
  `awsglue` stand-in (`emulator/awsglue_standin`: getResolvedOptions, GlueContext,
  Job.init/commit), and on exit 0 copies what the script wrote back to S3 (not Spark's
  `_SUCCESS`, `.crc` or `_temporary`). GetJobRun(s) report JobRunState STARTING, RUNNING,
  then SUCCEEDED, FAILED (ErrorMessage: the last line of the script's Python traceback,
  local paths named by their S3 URIs) or TIMEOUT, with StartedOn, CompletedOn,
  ExecutionTime and the run's own Arguments. The script's processes are stopped when the
  emulator exits, SIGKILL included (a parent-death signal).
  https://docs.aws.amazon.com/glue/latest/webapi/API_StartJobRun.html
  https://docs.aws.amazon.com/glue/latest/webapi/API_JobRun.html
  https://docs.aws.amazon.com/glue/latest/dg/job-run-statuses.html
  https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html
  https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-extensions-get-resolved-options.html
- Glue security configurations answer as API_SecurityConfiguration says: `CreatedTimeStamp`
  (moto's `CreatedTime` is not in the API), every part of the EncryptionConfiguration, a part
  left out reading DISABLED. GetResourcePolicy without a catalog policy is
  EntityNotFoundException "Policy not found" (moto answered an empty success) (`glue`).
  https://docs.aws.amazon.com/glue/latest/webapi/API_SecurityConfiguration.html
  https://docs.aws.amazon.com/glue/latest/webapi/API_EncryptionConfiguration.html
  https://docs.aws.amazon.com/glue/latest/webapi/API_GetResourcePolicy.html
- Athena queries run (`athena`; its module documentation has every rule, and
  `athena.TRANSLATION_NOTES` the dialect differences): StartQueryExecution queues the query,
  a worker runs it with DuckDB over the objects of the Glue tables it names (read from moto's
  S3 in-process; Parquet, JSON lines or delimited text; registered partitions or partition
  projection), and the states go QUEUED, RUNNING, then SUCCEEDED, FAILED or CANCELLED.
  https://docs.aws.amazon.com/athena/latest/APIReference/API_StartQueryExecution.html
  https://docs.aws.amazon.com/athena/latest/APIReference/API_QueryExecutionStatus.html
  https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html
  https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html
- Athena (Trino) SQL is translated to DuckDB's with sqlglot, and what sqlglot does not
  handle is rewritten (integer division, decimal literals as double, date_trunc on dates,
  date_diff, Joda patterns, ISO day of week, avg of decimals, output labels `_col<i>`).
  https://docs.aws.amazon.com/athena/latest/ug/data-types.html
  https://trino.io/docs/current/functions/datetime.html
- Athena GetQueryResults: the header row first, Athena's value notation and ColumnInfo type
  names, pages of up to 1000; the result `<id>.csv` (every value quoted, NULL empty) and
  `<id>.csv.metadata` at the output location, with the effective encryption.
  https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryResults.html
  https://docs.aws.amazon.com/athena/latest/ug/querying-finding-output-files.html
  https://docs.aws.amazon.com/athena/latest/ug/encrypting-query-results-stored-in-s3.html
- Redshift clusters are real databases (`redshift`, `redshift_engine`): CreateCluster starts a
  PostgreSQL 18 server for the cluster (127.0.0.1, a free port; `Endpoint` says where, so
  psycopg, JDBC or redshift_connector connect there) with its DBName; DeleteCluster and the
  emulator's exit stop it. `ClusterNamespaceArn` is reported.
  https://docs.aws.amazon.com/redshift/latest/dg/c_redshift-and-postgres-sql.html
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_Cluster.html
- Redshift ManageMasterPassword: Redshift's secret exists in Secrets Manager
  (`redshift!<cluster>-<master user>-<6>`, SecretString with `username` and `password`, which
  log in to the cluster), its ARN is `MasterPasswordSecretArn`, and DeleteCluster deletes it;
  a cluster with its own MasterUserPassword has none.
  https://docs.aws.amazon.com/redshift/latest/mgmt/redshift-secrets-manager-integration.html
- Redshift Data API statements run (`redshift`): SUBMITTED, STARTED, then FINISHED or FAILED
  with PostgreSQL's message in Redshift's form (`ERROR: relation "x" does not exist`), on a
  worker thread, with CreatedAt/UpdatedAt in epoch seconds (moto's ISO strings break the
  SDK); authenticated by SecretArn (its username/password) or DbUser; GetStatementResult with
  ColumnMetadata, typed Field records, TotalNumRows and pages.
  https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ExecuteStatement.html
  https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_DescribeStatement.html
  https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_GetStatementResult.html
  https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html
- Redshift SQL (`redshift_sql`): DISTSTYLE, DISTKEY, [COMPOUND|INTERLEAVED] SORTKEY, SORTKEY
  AUTO, ENCODE, BACKUP, IDENTITY(seed, step), VARCHAR(MAX), SUPER, VARBYTE, GETDATE(),
  SYSDATE, NVL, LEN and Redshift-only maintenance statements mapped to PostgreSQL, each listed
  in the module's documentation.
  https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html
- Redshift COPY from S3 (`redshift_copy`), run by the emulator over moto's S3 through
  PostgreSQL's COPY protocol: Parquet (by position, column counts must match, MAXERROR and
  TRUNCATECOLUMNS refused, any error fails it) and JSON ('auto', 'auto ignorecase' or a
  JSONPaths file; TIMEFORMAT; VARCHAR lengths in bytes with TRUNCATECOLUMNS; MAXERROR); the
  IAM_ROLE must be attached to the cluster and allowed s3:ListBucket/s3:GetObject; bad rows in
  STL_LOAD_ERRORS and SYS_LOAD_ERROR_DETAIL (1204 "String length exceeds DDL length"...),
  loads in STL_LOAD_COMMITS and SYS_LOAD_HISTORY.
  https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html
  https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-columnar.html
  https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-json.html
  https://docs.aws.amazon.com/redshift/latest/dg/r_Load_Error_Reference.html
- Redshift COPY JOB (auto-copy, `redshift_copy`): JOB CREATE (needs an S3 event integration
  for the bucket; files already there are never loaded), RUN, DROP, LIST, SHOW, ALTER; each
  file loaded once, tracked by name in SYS_COPY_JOB_DETAIL; AUTO ON loads a new object (S3
  PutObject, CompleteMultipartUpload, CopyObject) shortly after it lands.
  https://docs.aws.amazon.com/redshift/latest/dg/r_COPY-JOB.html
  https://docs.aws.amazon.com/redshift/latest/dg/loading-data-copy-job.html
  https://docs.aws.amazon.com/redshift/latest/dg/SYS_COPY_JOB_DETAIL.html
- Lambda GetFunction's Code.Location is a URL on the emulator (the host the call reached)
  that serves the version's zip to anyone holding it for 10 minutes, then S3's AccessDenied
  "Request has expired" (403); NoSuchKey (404) once the function is gone. moto's pointed at
  an S3 host that does not resolve.
  https://docs.aws.amazon.com/lambda/latest/api/API_GetFunction.html
  https://docs.aws.amazon.com/lambda/latest/api/API_FunctionCodeLocation.html
- Cognito DescribeUserPool and GetUserPoolMfaConfig report one MfaConfiguration, whichever of
  CreateUserPool, UpdateUserPool (OFF when left out) or SetUserPoolMfaConfig set it last (moto
  kept two that hid each other's changes); DescribeUserPool reports DeletionProtection,
  INACTIVE by default, and UserPoolAddOns as set.
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UserPoolType.html
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GetUserPoolMfaConfig.html
- API Gateway GetAccount and GetStage(s) leave out what is not set (moto answered
  `"cloudwatchRoleArn": null`, `"accessLogSettings": null`); UpdateAccount's empty
  `/cloudwatchRoleArn` clears the role.
  https://docs.aws.amazon.com/apigateway/latest/api/API_GetAccount.html
  https://docs.aws.amazon.com/apigateway/latest/api/API_GetStage.html
- Redshift parameter groups (`redshift_config`): both families' default groups,
  `default.redshift-2.0` (require_ssl true) for a cluster created without one, as since
  January 2025; DescribeClusterParameters lists the family's documented parameters with the
  group's values (Source `user` for the modified ones, which moto ignored) and filters by
  Source; DescribeClusters' ClusterParameterGroups is `pending-reboot` (per parameter in
  ClusterParameterStatusList) until RebootCluster applies a new group or changed values, then
  `in-sync`; ModifyCluster's EnhancedVpcRouting reads back as a boolean.
  https://docs.aws.amazon.com/redshift/latest/mgmt/working-with-parameter-groups.html
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_ClusterParameterStatus.html
  https://aws.amazon.com/blogs/aws/amazon-redshift-enhances-security-by-changing-default-behavior-in-2025/
- Redshift audit logging (`redshift_config`): EnableLogging to `cloudwatch` (LogExports) or
  `s3` (BucketName, S3KeyPrefix), DisableLogging; DescribeLoggingStatus answers only what
  applies (moto answered empty names and delivery times that never happened).
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_EnableLogging.html
  https://docs.aws.amazon.com/redshift/latest/mgmt/db-auditing.html
- Redshift, not emulated: Serverless workgroups; clusters restored from snapshots (no server
  behind them); COPY from CSV, delimited text, ORC or Avro; UNLOAD; Redshift SQL beyond the
  mappings `redshift_sql` lists (PostgreSQL 18 answers the rest, and checks VARCHAR lengths
  in characters where Redshift counts bytes, except in COPY); `require_ssl` on the
  connections (the PostgreSQL build has no TLS, so plain connections are still accepted).

Rules AWS enforces, enforced here
---------------------------------
Athena (`athena`):
- The output location and encryption are the workgroup's when it enforces its
  configuration, else the request's, else the workgroup's; none at all is
  InvalidRequestException "No output location provided. ..."; a disabled workgroup runs
  nothing ("WorkGroup <name> is disabled."), an unknown one is "WorkGroup <name> is not found.".
  https://docs.aws.amazon.com/athena/latest/ug/workgroups-settings-override.html
  https://docs.aws.amazon.com/athena/latest/ug/workgroups-troubleshooting.html
- A syntax error is refused by StartQueryExecution (InvalidRequestException, MALFORMED_QUERY);
  an unknown table, schema, column or function FAILS the query with Athena's reason and
  AthenaError (e.g. "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved or requester
  is not authorized to access requested resources", category 2, type 1006).
  https://docs.aws.amazon.com/athena/latest/ug/error-reference.html
- DeleteWorkGroup refuses the primary workgroup, and one that ran queries unless
  RecursiveDeleteOption; unknown workgroups and ARNs are refused, a workgroup without tags
  lists none.
  https://docs.aws.amazon.com/athena/latest/APIReference/API_DeleteWorkGroup.html
  https://docs.aws.amazon.com/athena/latest/APIReference/API_ListTagsForResource.html

Glue (`glue`, `glue_run`):
- StartJobRun beyond the job's ExecutionProperty.MaxConcurrentRuns (default 1) runs
  (STARTING or RUNNING) is refused: ConcurrentRunsExceededException (HTTP 400) "Concurrent
  runs exceeded for <job>".
  https://docs.aws.amazon.com/glue/latest/webapi/API_ExecutionProperty.html
  https://docs.aws.amazon.com/glue/latest/webapi/API_StartJobRun.html
- CreateSecurityConfiguration refuses S3Encryption SSE-KMS, CloudWatchEncryption SSE-KMS or
  JobBookmarksEncryption CSE-KMS without a KmsKeyArn (the console asks for the key), and more
  than one S3Encryption ("S3 EncryptionConfiguration list cannot be greater than one"):
  InvalidInputException (HTTP 400). A second create of a name is AlreadyExistsException and
  an unknown name EntityNotFoundException (both 400), as moto answered already.
  https://docs.aws.amazon.com/glue/latest/dg/console-security-configurations.html
  https://docs.aws.amazon.com/glue/latest/webapi/API_CreateSecurityConfiguration.html

Redshift (`redshift_config`):
- CreateClusterParameterGroup: a name of 1 to 255 letters, digits or hyphens, first a letter,
  no trailing or double hyphen, stored lower-case, and a family with a default group
  (redshift-1.0, redshift-2.0), else InvalidParameterValue (400); a name in use is
  ClusterParameterGroupAlreadyExists (400).
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_CreateClusterParameterGroup.html
- DeleteClusterParameterGroup refuses a default group and one a cluster uses:
  InvalidClusterParameterGroupState (400); an unknown group is ClusterParameterGroupNotFound
  (404).
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_DeleteClusterParameterGroup.html
- ModifyClusterParameterGroup and ResetClusterParameterGroup refuse a default group, more than
  20 parameters and a name not in the family: InvalidParameterValue (400) "Could not find
  parameter with name: <name>".
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_ModifyClusterParameterGroup.html
  https://docs.aws.amazon.com/redshift/latest/mgmt/working-with-parameter-groups.html
- CreateCluster and ModifyCluster refuse a ClusterParameterGroupName that does not exist:
  ClusterParameterGroupNotFound (404), before any server starts.
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_CreateCluster.html
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_ModifyCluster.html
- EnableLogging refuses log types other than connectionlog, userlog and useractivitylog
  (InvalidParameterValue); for s3, an invalid bucket name (InvalidS3BucketNameFault), a
  missing bucket (BucketNotFoundFault), a prefix over 512 characters or with a space, quote,
  backslash or control character (InvalidS3KeyPrefixFault), and a bucket policy that does not
  let `redshift.amazonaws.com` s3:PutObject on the bucket's objects and s3:GetBucketAcl on
  the bucket (InsufficientS3BucketPolicyFault), all HTTP 400.
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_EnableLogging.html
  https://docs.aws.amazon.com/redshift/latest/mgmt/db-auditing.html

API Gateway (`apigateway`), REST APIs; the pages give the rules, not the wording, which is
AWS's where known:
- UpdateAccount's `replace /cloudwatchRoleArn` needs a role of the account that trusts
  apigateway.amazonaws.com and whose policies allow AmazonAPIGatewayPushToCloudWatchLogs'
  seven logs actions on the region's log groups: else BadRequestException (HTTP 400) "The
  role ARN does not have required permissions configured. Please grant trust permission for
  API Gateway and add the required role policy."
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
  https://docs.aws.amazon.com/apigateway/latest/api/API_UpdateAccount.html
- UpdateStage: access logging to a CloudWatch log group, and execution logging
  (`/*/*/logging/loglevel` ERROR or INFO), need that role set: else BadRequestException
  "CloudWatch Logs role ARN must be set in account settings to enable logging" (a Firehose
  destination does not need it).
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-logging-to-kinesis.html
- UpdateStage: `/accessLogSettings/destinationArn` is a log group ARN
  (`arn:aws:logs:{region}:{account-id}:log-group:{name}`, no `:*`) or a Firehose stream ARN
  named `amazon-apigateway-...`; `/accessLogSettings/format` holds `$context.requestId` or
  `$context.extendedRequestId` on a single line; a method setting path is one of
  MethodSetting's ("Invalid method setting path: ..."), a log level OFF, ERROR or INFO. Each
  refusal is BadRequestException (HTTP 400).
  https://docs.aws.amazon.com/apigateway/latest/api/API_AccessLogSettings.html
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-access-logging.html
  https://docs.aws.amazon.com/apigateway/latest/api/API_MethodSetting.html

AWS WAF (`wafv2`), regional web ACLs; every refusal HTTP 400, with the API reference's error
descriptions (WAFInvalidParameterException's reasons, which it does not document, are ours):
- Web ACL definitions (CreateWebACL, UpdateWebACL) are WAFInvalidParameterException, with its
  Field, when: a rate-based Limit is outside 10..2,000,000,000, EvaluationWindowSec is not 60,
  120, 300 or 600, AggregateKeyType CONSTANT, CUSTOM_KEYS or FORWARDED_IP lacks its
  ScopeDownStatement, CustomKeys or ForwardedIPConfig, or a rate-based rule's action is Allow;
  a rule referencing a rule group (ManagedRuleGroupStatement, RuleGroupReferenceStatement)
  has Action or lacks OverrideAction, any other rule the reverse; one of those statements or
  a RateBasedStatement is nested in another; two rules share a priority; DefaultAction is not
  exactly one of Allow and Block; a name or metric name is outside its pattern (or a metric
  name is All or Default_Action).
  https://docs.aws.amazon.com/waf/latest/APIReference/API_RateBasedStatement.html
  https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html
  https://docs.aws.amazon.com/waf/latest/APIReference/API_Rule.html
  https://docs.aws.amazon.com/waf/latest/APIReference/API_ManagedRuleGroupStatement.html
  https://docs.aws.amazon.com/waf/latest/APIReference/API_VisibilityConfig.html
  https://docs.aws.amazon.com/waf/latest/APIReference/API_DefaultAction.html
- A second web ACL of one name in a scope is WAFDuplicateItemException (moto answered
  `WafV2DuplicateItem`); UpdateWebACL and DeleteWebACL with a stale LockToken are
  WAFOptimisticLockException; UpdateWebACL replaces the whole definition (moto kept the rules
  and settings a call left out); GetWebACL answers no null members.
  https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html
  https://docs.aws.amazon.com/waf/latest/APIReference/API_UpdateWebACL.html
  https://docs.aws.amazon.com/waf/latest/APIReference/API_WebACL.html
- AssociateWebACL takes a REST API stage as
  `arn:<partition>:apigateway:<region>::/restapis/<api-id>/stages/<stage>` (or another
  documented resource ARN) in the web ACL's Region, else WAFInvalidParameterException; a stage
  that does not exist is WAFNonexistentItemException. A resource has at most one web ACL:
  associating another moves it. GetStage and GetStages report the stage's `webAclArn`;
  DisassociateWebACL and deleting the stage (or its API) drop it.
  https://docs.aws.amazon.com/waf/latest/APIReference/API_AssociateWebACL.html
  https://docs.aws.amazon.com/waf/latest/APIReference/API_DisassociateWebACL.html
  https://docs.aws.amazon.com/waf/latest/developerguide/web-acl-associating-aws-resource.html
  https://docs.aws.amazon.com/apigateway/latest/api/API_Stage.html
- DeleteWebACL of a web ACL still associated is WAFAssociatedItemException ("Before deleting
  any web ACL, first disassociate it from all resources"); TagResource, UntagResource and
  ListTagsForResource on an ARN naming no AWS WAF resource are WAFNonexistentItemException.
  https://docs.aws.amazon.com/waf/latest/APIReference/API_DeleteWebACL.html
  https://docs.aws.amazon.com/waf/latest/APIReference/API_TagResource.html

Cognito user pools (`cognito`):
- SignUp on a pool with `AdminCreateUserConfig.AllowAdminCreateUserOnly` true is refused:
  NotAuthorizedException (HTTP 400) "SignUp is not permitted for this user pool".
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-cognito-userpool-admincreateuserconfig.html
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SignUp.html
- UpdateUserPool resets what the request leaves out, except the settings fixed at creation
  (AliasAttributes, UsernameAttributes, UsernameConfiguration, Schema), which stay.
  https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-updating.html
- CreateUserPool and UpdateUserPool refuse a password policy out of range: MinimumLength
  6..99, PasswordHistorySize 0..24, TemporaryPasswordValidityDays 0..365;
  InvalidParameterException (HTTP 400) "1 validation error detected: Value '5' at
  'policies.passwordPolicy.minimumLength' failed to satisfy constraint: ...".
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_PasswordPolicyType.html
- CreateUserPoolClient and UpdateUserPoolClient refuse token lifetimes out of range, counted in
  their TokenValidityUnits: ID and access tokens 5 minutes to 1 day, refresh tokens 60 minutes
  to 10 years (InvalidParameterException "Invalid range for token validity."), and
  AuthSessionValidity outside 3..15 minutes.
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_TokenValidityUnitsType.html
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html
- MfaConfiguration ON or OPTIONAL needs an enabled MFA factor (InvalidParameterException,
  HTTP 400): CreateUserPool without an SmsConfiguration and phone_number auto-verified, and
  UpdateUserPool likewise on a pool without TOTP or SMS enabled, are refused "SMS
  configuration and Auto verification for phone_number are required when MFA is
  required/optional"; SetUserPoolMfaConfig without an enabled factor "Invalid MFA
  configuration given, can't disable all MFAs with a required or optional configuration."
  https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-mfa.html
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SetUserPoolMfaConfig.html

Lambda (`lambda_`):
- CreateFunction and UpdateFunctionConfiguration refuse environment variables over 4 KB in
  aggregate, measured as AWS measures them: the variables as one compact JSON string, over
  4096 bytes; InvalidParameterValueException (HTTP 400) "Lambda was unable to configure your
  environment variables because the environment variables you have provided exceeded the 4KB
  limit. String measured: {...}".
  https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
  https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html

CloudWatch Logs (`logs`):
- PutRetentionPolicy refuses a retentionInDays other than the documented periods (1, 3, 5, 7,
  14, 30, ... 3653): InvalidParameterException (HTTP 400).
  https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html

S3 (`s3`):
- A bucket created without `x-amz-object-ownership` has Object Ownership `BucketOwnerEnforced`
  (ACLs disabled), AWS's default for new buckets.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-new-bucket.html
- PutBucketNotificationConfiguration validates each SNS topic destination: the topic exists;
  its policy lets `s3.amazonaws.com` sns:Publish (aws:SourceArn the bucket, aws:SourceAccount
  its owner); an SSE-KMS topic's key is customer managed (not `alias/aws/sns` or another AWS
  managed key), exists, is enabled, and its key policy lets `s3.amazonaws.com`
  kms:GenerateDataKey and kms:Decrypt (`iam_eval`, an explicit Deny wins). Else InvalidArgument
  (HTTP 400) "Unable to validate the following destination configurations" with
  ArgumentName<i>/ArgumentValue<i> (topic ARN, "The destination topic does not exist" or
  "Permissions on the destination topic do not allow S3 to publish notifications from this
  bucket") per refused topic; SkipDestinationValidation skips it. SQS and Lambda destinations
  stay moto's.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html
  https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
  https://docs.aws.amazon.com/sns/latest/dg/sns-enable-encryption-for-topic-sqs-queue-subscriptions.html
- Bucket policies are evaluated with their conditions (`iam_eval`) where moto evaluates them,
  on object requests (moto ignored conditions: a TLS-only Deny refused everything, any
  conditioned Deny applied always); an explicit Deny is AccessDenied (HTTP 403) "Access
  Denied". Context: aws:SecureTransport, aws:RequestedRegion, a role session's principal.
  Principals are not matched, as in moto.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html
  https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
- PutBucketLogging refuses what AWS lists as set-up errors, and only that: a target bucket that
  does not exist (InvalidTargetBucketForLogging, HTTP 400, "The target bucket for logging does
  not exist"), of another account (same code, "The owner for the bucket to be logged and the
  target bucket must be the same."), in another Region (CrossLocationLoggingProhibited, HTTP
  403, "Cross S3 location logging not allowed."), TargetGrants for a target with ACLs disabled
  (AccessControlListNotSupported, HTTP 400, "Target grants not allowed for bucket owner
  enforced buckets"). moto's own check (a bucket policy of the one shape it knew, or a log
  delivery group ACL grant) is gone: the permission is a delivery matter. GetBucketLogging
  answers what was put, TargetObjectKeyFormat included.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshooting-server-access-logging.html
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLogging.html
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_TargetGrant.html
- Server access logs (moto's log object per request to the source bucket) are delivered only
  as AWS delivers them: the target's bucket policy lets `logging.s3.amazonaws.com`
  s3:PutObject on the log object with aws:SourceArn the source bucket and aws:SourceAccount its
  owner (`iam_eval`, an explicit Deny wins; taken as over TLS), or, ACLs enabled, its ACL
  grants the log delivery group WRITE and READ_ACP; the target has no Object Lock and default
  encryption SSE-S3 (SSE-KMS is not supported). Else nothing is delivered and the emulator's
  stderr says why. Keys follow TargetObjectKeyFormat. (Requester Pays, AWS's other delivery
  rule, cannot be set: moto ignores PutBucketRequestPayment.)
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_PartitionedPrefix.html

KMS (`kms`):
- The calls the tool makes answer as the API reference says: `alias/aws/sns` (sqs, kinesis)
  names an AWS managed key (KeyManager AWS, rotation on); CreateKey defaults KeyUsage
  ENCRYPT_DECRYPT and MultiRegion false; Get/PutKeyPolicy take no PolicyName (`default`);
  GetKeyRotationStatus answers KeyId, RotationPeriodInDays (EnableKeyRotation's, 90..2560,
  default 365) and NextRotationDate; ScheduleKeyDeletion answers the key ARN, KeyState and
  PendingWindowInDays; DisableKey/EnableKey/CancelKeyDeletion take a key ARN.
  https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html
  https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyRotationStatus.html
  https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html
- CreateKey and PutKeyPolicy refuse (MalformedPolicyDocumentException, HTTP 400) a policy
  naming a role, user or role session of the account that does not exist, or a wildcard ARN
  ("Policy contains a statement with one or more invalid principals."), and, without
  BypassPolicyLockoutSafetyCheck, one that does not allow the caller (its role, or the
  account) kms:PutKeyPolicy ("The new key policy will not allow you to update the key policy
  in the future.").
  https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html
  https://repost.aws/knowledge-center/kms-policy-error-invalid-principals
- ScheduleKeyDeletion refuses a PendingWindowInDays outside 7..30 (ValidationException); a key
  pending deletion refuses ScheduleKeyDeletion, CreateAlias, Tag/UntagResource and
  Enable/DisableKeyRotation (KMSInvalidStateException "<key ARN> is pending deletion."), a
  disabled one Enable/DisableKeyRotation (DisabledException); CreateAlias refuses every
  `alias/aws/` name (NotAuthorizedException).
  https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html
  https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html

IAM, for calls signed with a role's temporary credentials from AssumeRole (`iam_eval`; its
module documentation has each rule in full). Calls signed with other keys (the tool's, the
tests') are served as before; trust policies are not evaluated on AssumeRole.
- Decision: an explicit Deny wins over every Allow; without an applicable Allow, denied.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html
- A role session's policies: the role's inline policies and its attached managed policies'
  default versions.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
- Action/NotAction with `*` and `?`, case-insensitive.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
- Resource/NotResource: case-sensitive ARNs, wildcards within a colon-separated segment.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
- Condition blocks (operators AND-ed, keys AND-ed, values OR-ed), the String, Numeric, Bool,
  Arn and Null operators, `...IfExists`, and `ForAllValues:`/`ForAnyValue:`.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
- Context keys given: aws:SecureTransport, aws:RequestedRegion, aws:PrincipalArn,
  aws:PrincipalAccount, s3:prefix.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
- aws:SecureTransport is false (clients reach the emulator over loopback HTTP) unless the
  emulator runs with `--tls-terminated` (`ECOMFLOW_EMULATOR_SECURE_TRANSPORT=1`): then it
  stands for AWS's HTTPS endpoints, as if TLS ended in front of it, and takes every request
  as made over TLS, so a stack whose bucket policy refuses plain HTTP (stacks/dev.yaml,
  prod.yaml) applies and works on it (scripts/audit runs it so). Off by default: local.yaml
  and the tests keep the plain-HTTP answer.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-securetransport
- Each request mapped to its action and resource ARN as the Service Authorization Reference
  lists them (Kinesis, DynamoDB with indexes, Firehose, SNS, S3, Cognito, Lambda); an
  operation not mapped is evaluated on resource `*`, never skipped.
  https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
- Never evaluated: sts:GetCallerIdentity, and the Cognito user-pool operations AWS does not
  authorize with IAM.
  https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
  https://docs.aws.amazon.com/cognito/latest/developerguide/user-pools-API-operations.html
- The refusal: "User: <session ARN> is not authorized to perform: <action> on resource: <arn>
  because no identity-based policy allows ..." (or "... with an explicit deny ..."), in each
  protocol's error form: AccessDeniedException (HTTP 400) for JSON services, DynamoDB
  included; AuthorizationError (403) for SNS; AccessDenied (403) for S3 and the other query
  services; AccessDeniedException (403) for REST-JSON services.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
  https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html

SNS (`sns`):
- A message reaches a subscribed SQS queue only when the queue's access policy allows
  `sns.amazonaws.com` (or `*`) sqs:SendMessage on the queue, evaluated with `iam_eval` with
  aws:SourceArn the topic and aws:SourceAccount its account (an explicit Deny wins); no policy,
  no delivery. Publish still succeeds; the emulator's stderr names the topic, the queue and why.
  https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html
  https://docs.aws.amazon.com/sns/latest/dg/sns-sqs-as-subscriber.html
  https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html

Kinesis (`kinesis`):
- No acknowledged record is lost: puts are applied one at a time (moto numbered records
  without a lock, and two concurrent PutRecords could give two records one sequence number and
  lose one). Each successful record keeps its shard and sequence number.
  https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html
  https://docs.aws.amazon.com/streams/latest/dev/key-concepts.html
- A record's shard is the one whose hash key range holds the MD5 of its partition key (found
  by binary search, moto's own routing for explicit hash keys or overlapping ranges).
  https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html
- GetRecords looks records up by sequence number, with the same records, next iterator and
  MillisBehindLatest as moto's scan, at a cost that does not grow with the shard.
  https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html
- Cost only (same answers): PutRecords answered as plain JSON, one clock read per record.

DynamoDB (`dynamodb`):
- Item writes are atomic: PutItem, UpdateItem, DeleteItem, BatchWriteItem and
  TransactWriteItems are applied one at a time (moto's read-modify-write lost concurrent
  `ADD`s to one item and let two conditional puts both win).
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html
- CreateTable and DeleteTable are atomic too: of two concurrent CreateTables of one name, the
  second gets ResourceInUseException (moto let it replace the first table and its items).
  https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html
- A Query on a table's key reads only the queried partition (same items, order and pages).
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.html
- Cost only (same answers): the items of Query and Scan answers are written as plain JSON,
  not through moto's per-value serializer; an item's size limit is checked once on its total,
  not again for each attribute; a projection onto top-level attributes copies them instead of
  converting the whole item to Python values and back.
  https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-items

Firehose delivery to S3 (`firehose`): moto wrote each PutRecord(Batch) at once, under the
literal prefix, as raw JSON; ExtendedS3 and S3 destinations now deliver as Firehose does
(Redshift and other destinations stay moto's):
- Buffering per stream, delivered when SizeInMBs is reached or IntervalInSeconds has passed
  since the first buffered record, whichever first, by one background thread; interval 0
  delivers at once (zero buffering: what tests use instead of waiting). Ranges SizeInMBs
  1..128 and IntervalInSeconds 0..900 (ValidationException); both or neither.
  https://docs.aws.amazon.com/firehose/latest/dev/buffering-hints.html
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_BufferingHints.html
- With record format conversion enabled, CreateDeliveryStream and UpdateDestination refuse
  (InvalidArgumentException) a SizeInMBs below 64, a CompressionFormat other than
  UNCOMPRESSED, a missing deserializer, serializer or schema; without BufferingHints a
  converting stream gets 128 MiB (5 MiB otherwise).
  https://docs.aws.amazon.com/firehose/latest/dev/enable-record-format-conversion.html
- Object keys `<evaluated prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>`:
  `!{timestamp:<Java pattern>}` (oldest record's arrival, UTC or CustomTimeZone),
  `!{firehose:random-string}`, `!{firehose:error-output-type}`; `yyyy/MM/dd/HH/` appended
  only to a Prefix without a timestamp expression; the prefix rules (ErrorOutputPrefix needed
  with expressions and holding error-output-type) refused as AWS refuses them; `.parquet`
  (`.orc`) unless FileExtension says otherwise.
  https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html
  https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html
- Conversion: OpenX JSON SerDe (CaseInsensitive, ColumnToJsonKeyMappings,
  ConvertDotsInJsonKeysToUnderscores, its timestamp formats) or Hive JSON SerDe
  (TimestampFormats, java.sql.Timestamp by default); the Glue table's columns read from the
  emulated catalog at delivery time; decimals exact, timestamps, dates, nested types; one
  Parquet object per delivery, compressed as ParquetSerDe says (SNAPPY by default).
  https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_OpenXJsonSerDe.html
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_HiveJsonSerDe.html
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_SchemaConfiguration.html
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_ParquetSerDe.html
- A record that does not convert goes to ErrorOutputPrefix (error-output-type
  `format-conversion-failed`) as one JSON line in the documented error-record shape; the rest
  of the batch is delivered.
  https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion-error-handling.html

Firehose server-side encryption (`firehose_sse`):
- DescribeDeliveryStream's DeliveryStreamEncryptionConfiguration is KeyType, KeyARN (customer
  managed keys only) and Status ENABLED after CreateDeliveryStream with
  DeliveryStreamEncryptionConfigurationInput or StartDeliveryStreamEncryption, `{"Status":
  "DISABLED"}` otherwise and after StopDeliveryStreamEncryption (which moto failed on a stream
  never encrypted); PutRecord(Batch) answer Encrypted true while it is enabled.
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_DeliveryStreamEncryptionConfiguration.html
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_StartDeliveryStreamEncryption.html
- Refused (InvalidArgumentException, HTTP 400): SSE for a stream whose source is a Kinesis
  data stream; CUSTOMER_MANAGED_CMK without KeyARN, AWS_OWNED_CMK with one. A KeyARN naming no
  key, or a key not enabled: InvalidKMSResourceException (HTTP 400).
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_DeliveryStreamEncryptionConfigurationInput.html
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_CreateDeliveryStream.html

CloudFormation (`cloudformation`), for the resource types the project's exported template uses
(`ecomflow-infra export cloudformation`); its module documentation has every property:
- CreateStack, UpdateStack and CreateChangeSet refuse an unknown resource type as AWS does
  (ValidationError "Template format error: Unrecognized resource types: [AWS::X::Y]"), a type AWS
  knows but moto cannot create ("The emulator cannot create these resource types ...", where
  moto skipped it with a warning), and, for the types below, a property the emulator does not
  apply ("The emulator cannot apply these properties: [AWS::S3::Bucket.X (Logical)]"), all before
  anything is made. ValidateTemplate does not refuse them (syntax only, as AWS's).
  https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Warnings.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-template-resource-type-ref.html
- ValidateTemplate answers what the template says, JSON or YAML (moto answered no parameters and
  no capabilities): a TemplateParameter per parameter (ParameterKey, DefaultValue when given,
  NoEcho, Description), Description, Capabilities CAPABILITY_IAM for IAM resources (the types
  CreateStack's Capabilities lists) or CAPABILITY_NAMED_IAM when one has a custom name (RoleName,
  UserName, GroupName, ManagedPolicyName, InstanceProfileName), CapabilitiesReason naming their
  types, DeclaredTransforms. cfn-lint still checks the body; its errors refuse it (not its
  warnings, which moto refused too).
  https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ValidateTemplate.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html
- Template size (moto took any): CreateStack, UpdateStack, CreateChangeSet and ValidateTemplate
  refuse a TemplateBody over 51,200 characters before any other check, with AWS's ValidationError
  "1 validation error detected: Value '<the body>' at 'templateBody' failed to satisfy constraint:
  Member must have length less than or equal to 51200" (a request-model length constraint, which
  counts characters; the quotas page says bytes, the same number for ASCII); a larger template
  goes by TemplateURL, whose S3 object may hold up to 1,000,000 bytes ("1 MB"; over it,
  ValidationError "Template may not exceed 1000000 bytes in size.").
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStack.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ValidateTemplate.html
- Every property of these types is applied through the service's backend and the emulator's
  rules for the matching call (moto ignored many, Tags above all): AWS::S3::Bucket (encryption
  SSE-S3 or KMS with BucketKeyEnabled, public access block, ownership, versioning, lifecycle
  rules with Filter prefixes, logging with PutBucketLogging's refusals, tags),
  AWS::S3::BucketPolicy, AWS::KMS::Key (CreateKey's policy checks, rotation, tags;
  PendingWindowInDays 7..30) and AWS::KMS::Alias, AWS::IAM::Role (path, trust and inline
  policies validated, managed policies, tags), AWS::Kinesis::Stream (mode, shards, retention,
  KMS encryption, tags), AWS::DynamoDB::Table (billing, throughput, point-in-time recovery, SSE
  with the key's ARN, deletion protection, tags), AWS::SNS::Topic, AWS::SNS::TopicPolicy,
  AWS::SNS::Subscription, AWS::Logs::LogGroup (PutRetentionPolicy's periods, KMS key, tags),
  AWS::Lambda::Function (architectures, memory, timeout, reserved concurrency, environment
  within 4 KB, code read from the emulated S3 so CodeSha256 is the zip's, tags),
  AWS::Lambda::EventSourceMapping, AWS::Lambda::Permission (the statement CloudFormation
  names), AWS::Redshift::ClusterParameterGroup and AWS::Redshift::Cluster (their names, the
  parameter group's rules and values, and the cluster CreateCluster makes: PostgreSQL server,
  managed secret, parameter group status, audit logging with EnableLogging's rules).
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-s3-bucket.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-serversideencryptionrule.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-s3-bucketpolicy.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-kms-key.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-role.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-kinesis-stream.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-sns-topic.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-sns-policy.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-logs-loggroup.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-lambda-function-code.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-lambda-eventsourcemapping-destinationconfig.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-permission.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-redshift-clusterparametergroup.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-redshift-cluster-loggingproperties.html
- Tags: the stack's tags go to every resource of a taggable type (a resource's own tag of the
  same key wins), and `aws:cloudformation:stack-name`, `aws:cloudformation:stack-id` and
  `aws:cloudformation:logical-id` to those whose type's schema has
  `tagging.cloudFormationSystemTags` (S3 buckets, Kinesis streams, SNS topics, log groups,
  Lambda functions and mappings, Redshift clusters and parameter groups; not KMS keys, IAM roles
  or DynamoDB tables).
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-resource-tags.html
  https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html
- A resource that fails to create (the service's refusal) is CREATE_FAILED with the service's
  message, and the stack rolls back to ROLLBACK_COMPLETE (ROLLBACK_FAILED when something it
  made cannot be deleted), deleting what it made (moto answered
  HTTP 500 and left the stack CREATE_IN_PROGRESS, half made); OnFailure DO_NOTHING (or
  DisableRollback) keeps CREATE_FAILED with what was made, OnFailure DELETE deletes the stack.
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-failure-options.md
- DeleteStack deletes in reverse dependency order and removes what CreateStack made (a role's
  policies first; a KMS key is scheduled for deletion after its PendingWindowInDays, as AWS
  does; Redshift clusters and parameter groups, which moto never deleted, as DeleteCluster and
  DeleteClusterParameterGroup do); DeletionPolicy Retain keeps a resource; a resource that
  cannot go (a bucket not empty, a table with deletion protection) leaves the stack
  DELETE_FAILED, to be deleted again.
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html

The server (`server`), cost only: moto's list of backends and each response class's list of
handlers are made once instead of per request; `MOTO_ACCESS_LOG=0` silences the access log;
connections are served by kept pool threads (`PooledServer`) instead of a thread started
per connection, whose start waited for the interpreter and held up the accept loop under load;
and a connection stays open for the client's next request (`KeepAliveHandler`, HTTP/1.1
persistent connections, RFC 9112 section 9.3), as AWS's endpoints keep it, where werkzeug closed
it after every answer.

Not emulated
------------
moto's other gaps met so far, and how the tool copes with each, are in DEVELOPERS.md
("Emulator gaps"). The venv holds pyarrow (Firehose's record format conversion, `firehose`)
and duckdb with sqlglot (Athena SQL over the lake, `athena`). Athena reads the lake
in-process, so IAM is not evaluated on the S3 and Glue reads a query makes.
Glue job runs: pyspark 3.5.4 (with Java 17 on the PATH) runs the scripts. Not emulated: the
rest of Glue's runtime (DynamicFrame, connections, the Data Catalog as Spark's catalog, job
bookmarks), CloudWatch logs of a run, BatchStopJobRun, retries (MaxRetries), WAITING and
worker sizes; a run reads and writes S3 in-process, so IAM is not evaluated on its role.
Jobs of other kinds (pythonshell, gluestreaming) keep moto's runs, which run nothing.
"""
