"""Redshift and the Redshift Data API: the cluster IAM roles call moto lacks, the managed master
password's secret ARN moto drops, and Data API statements that finish.
"""

import time


def add_cluster_iam_roles_call():
    """ModifyClusterIamRoles (moto answers "not implemented"), so a cluster's roles can change
    in place: the roles in RemoveIamRoles are taken off, those in AddIamRoles added, and the
    cluster is answered.
    https://docs.aws.amazon.com/redshift/latest/APIReference/API_ModifyClusterIamRoles.html
    """
    from moto.core.responses import ActionResult
    from moto.redshift.responses import RedshiftResponse

    def modify_cluster_iam_roles(self):
        cluster = self.redshift_backend.describe_clusters(self._get_param("ClusterIdentifier"))[0]
        remove = set(self._get_param("RemoveIamRoles", []) or [])
        add = self._get_param("AddIamRoles", []) or []
        roles = [r for r in cluster.iam_roles_arn if r not in remove]
        roles += [r for r in add if r not in roles]
        cluster.iam_roles_arn = roles
        return ActionResult({"Cluster": cluster})

    if not hasattr(RedshiftResponse, "modify_cluster_iam_roles"):
        RedshiftResponse.modify_cluster_iam_roles = modify_cluster_iam_roles


def report_managed_master_password():
    """ManageMasterPassword: moto accepts the flag and drops it, so a cluster never reports
    `MasterPasswordSecretArn`. As on AWS, a cluster created with it reports the ARN of the
    secret Redshift keeps its admin password in (`secret:redshift!<cluster>-admin-<6>`), and one
    created with a password of its own reports none. Only the ARN is emulated: no Secrets
    Manager secret exists behind it, which is all a caller that never reads the password needs
    (Firehose, the Glue connection and the Data API are handed the ARN).
    https://docs.aws.amazon.com/redshift/latest/mgmt/redshift-secrets-manager-integration.html
    https://docs.aws.amazon.com/redshift/latest/APIReference/API_Cluster.html
    """
    import hashlib

    from moto.redshift.responses import RedshiftResponse

    original = RedshiftResponse.create_cluster

    def create_cluster(self):
        result = original(self)
        if self._get_bool_param("ManageMasterPassword", False):
            name = self._get_param("ClusterIdentifier")
            cluster = self.redshift_backend.describe_clusters(name)[0]
            if getattr(cluster, "master_password_secret_arn", None) is None:
                suffix = hashlib.sha256(name.encode()).hexdigest()[:6]
                cluster.master_password_secret_arn = (
                    f"arn:aws:secretsmanager:{self.region}:{self.current_account}"
                    f":secret:redshift!{name}-admin-{suffix}"
                )
        return result

    RedshiftResponse.create_cluster = create_cluster


def finish_data_api_statements():
    """Data API statements: moto leaves every statement `STARTED` for ever and reports
    `CreatedAt`/`UpdatedAt` as ISO strings where the API has timestamps in epoch seconds (the
    SDK cannot parse them). Here a statement is `FINISHED` when it is accepted, with epoch
    timestamps. No SQL engine runs the statement: what this proves is the tool's side of the
    protocol (execute, poll until finished, record the applied DDL, drop on destroy), not the
    DDL.
    https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_DescribeStatement.html
    """
    from moto.redshiftdata import models

    original = models.Statement.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.status == "STARTED" and isinstance(self.created_at, str):
            now = time.time()
            self.created_at = now
            self.updated_at = now
            self.status = "FINISHED"

    models.Statement.__init__ = init


def install():
    add_cluster_iam_roles_call()
    report_managed_master_password()
    finish_data_api_statements()
