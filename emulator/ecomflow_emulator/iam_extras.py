"""IAM: the access-advisor reports and the organization features query that moto 5.2.1 lacks
(it answers HTTP 500 "not implemented"), which auditors such as Prowler call for every role.

- GenerateServiceLastAccessedDetails and GetServiceLastAccessedDetails: a report, completed
  at once, listing the services the entity's permission policies allow, none accessed.
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_GenerateServiceLastAccessedDetails.html
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetServiceLastAccessedDetails.html
- ListOrganizationsFeatures: the account's organization, or why there is none to list.
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListOrganizationsFeatures.html

Each is added only where the installed moto lacks it.
"""

import threading
import uuid
from functools import lru_cache

# JobId -> the generated report (jobs are account-wide; a JobId is a UUID).
_jobs = {}
_lock = threading.Lock()


def _as_list(value):
    return value if isinstance(value, list) else [] if value is None else [value]


def allowed_namespaces(documents):
    """The service prefixes the Allow statements of `documents` name in Action, sorted. An
    action `*` or a NotAction names no service in particular, and adds none."""
    from .iam_eval import _document

    namespaces = set()
    for document in documents:
        for statement in _as_list(_document(document).get("Statement")):
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                continue
            for action in _as_list(statement.get("Action")):
                prefix = str(action).split(":", 1)[0].lower()
                if ":" in str(action) and prefix and "*" not in prefix and "?" not in prefix:
                    namespaces.add(prefix)
    return sorted(namespaces)


@lru_cache(maxsize=None)
def service_name(namespace):
    """A service's full name as its SDK model gives it ("Amazon Simple Storage Service"), for
    the services whose model has the prefix's name; the prefix itself otherwise."""
    import botocore.session

    session = botocore.session.get_session()
    if namespace in session.get_available_services():
        model = session.get_service_model(namespace)
        return model.metadata.get("serviceFullName") or namespace
    return namespace


def entity_policies(iam, arn):
    """The permission policies of the user, group, role or managed policy `arn` names (a
    user's include its groups'), or None when it names none of them."""

    def own(entity):
        documents = list(entity.policies.values())
        for managed in entity.managed_policies.values():
            for version in managed.versions:
                if version.version_id == managed.default_version_id:
                    documents.append(version.document)
        return documents

    if arn in iam.managed_policies:
        policy = iam.managed_policies[arn]
        return [v.document for v in policy.versions if v.version_id == policy.default_version_id]
    for role in iam.roles.values():
        if role.arn == arn:
            return own(role)
    for group in iam.groups.values():
        if group.arn == arn:
            return own(group)
    for user in iam.users.values():
        if user.arn == arn:
            documents = own(user)
            for group in iam.groups.values():
                if user in group.users:
                    documents += own(group)
            return documents
    return None


def add_service_last_accessed():
    """GenerateServiceLastAccessedDetails and GetServiceLastAccessedDetails.

    GenerateServiceLastAccessedDetails takes the ARN of a user, group, role or managed policy
    (NoSuchEntity, HTTP 404, for any other) and returns a JobId. "For each service that the
    resource could access using permissions policies, the operation returns details about the
    most recent access attempt. If there was no attempt, the service is listed without
    details": the emulator tracks no access, so each service the policies' Allow statements
    name is listed with TotalAuthenticatedEntities 0 and no LastAuthenticated. The report is
    made when it is asked for and is COMPLETED at once (JobType the Granularity asked,
    SERVICE_LEVEL by default); MaxItems and Marker page it. An unknown JobId is NoSuchEntity
    (the page does not say which error; it lists NoSuchEntity and InvalidInput).
    Not kept: ACTION_LEVEL's TrackedActionsLastAccessed; services a `*` action allows.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GenerateServiceLastAccessedDetails.html
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetServiceLastAccessedDetails.html
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_ServiceLastAccessed.html
    """
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.iam.exceptions import NotFoundException
    from moto.iam.responses import IamResponse

    def generate_service_last_accessed_details(self):
        arn = self._get_param("Arn")
        documents = entity_policies(self.backend, arn)
        if documents is None:
            raise NotFoundException(f"The entity {arn} cannot be found.")
        job_id = str(uuid.uuid4())
        with _lock:
            _jobs[job_id] = {
                "account": self.current_account,
                "type": self._get_param("Granularity") or "SERVICE_LEVEL",
                "created": utcnow(),
                "services": [
                    {
                        "ServiceName": service_name(ns),
                        "ServiceNamespace": ns,
                        "TotalAuthenticatedEntities": 0,
                    }
                    for ns in allowed_namespaces(documents)
                ],
            }
        return ActionResult({"JobId": job_id})

    def get_service_last_accessed_details(self):
        job_id = self._get_param("JobId")
        with _lock:
            job = _jobs.get(job_id)
        if job is None or job["account"] != self.current_account:
            raise NotFoundException(f"The job {job_id} cannot be found.")
        start = int(self._get_param("Marker") or 0)
        count = int(self._get_param("MaxItems") or 100)
        page = job["services"][start : start + count]
        answer = {
            "JobStatus": "COMPLETED",
            "JobType": job["type"],
            "JobCreationDate": job["created"],
            "JobCompletionDate": job["created"],
            "ServicesLastAccessed": page,
            "IsTruncated": start + count < len(job["services"]),
        }
        if answer["IsTruncated"]:
            answer["Marker"] = str(start + count)
        return ActionResult(answer)

    for name, call in (
        ("generate_service_last_accessed_details", generate_service_last_accessed_details),
        ("get_service_last_accessed_details", get_service_last_accessed_details),
    ):
        if not hasattr(IamResponse, name):
            setattr(IamResponse, name, call)


def add_list_organizations_features():
    """ListOrganizationsFeatures, from moto's Organizations: an account in no organization is
    refused OrganizationNotFoundException "The request was rejected because no organization is
    associated with your account."; a member account AccountNotManagementOrDelegatedAdministrator-
    Exception; an organization without all features OrganizationNotInAllFeaturesModeException;
    one without trusted access for IAM (iam.amazonaws.com) ServiceAccessNotEnabledException
    (each HTTP 400, the page's messages). Otherwise its OrganizationId and EnabledFeatures,
    empty: the calls that enable them are not emulated (nor can trusted access be enabled:
    moto's Organizations does not know the iam.amazonaws.com principal).
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListOrganizationsFeatures.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html#id_root-user-access-management
    """
    from moto.core.responses import ActionResult
    from moto.iam.exceptions import IAMException
    from moto.iam.responses import IamResponse
    from moto.organizations.models import organizations_backends

    def refused(code, message):
        return IAMException(code, "The request was rejected because " + message)

    def list_organizations_features(self):
        account = self.current_account
        backend = organizations_backends[account][self.partition]
        if backend.org is None:
            if account in organizations_backends.master_accounts:
                raise refused(
                    "AccountNotManagementOrDelegatedAdministratorException",
                    "the account making the request is not the management account or "
                    "delegated administrator account for centralized root access.",
                )
            raise refused(
                "OrganizationNotFoundException",
                "no organization is associated with your account.",
            )
        if backend.org.feature_set != "ALL":
            raise refused(
                "OrganizationNotInAllFeaturesModeException",
                "your organization does not have All features enabled.",
            )
        if not any(s.get("ServicePrincipal") == "iam.amazonaws.com" for s in backend.services):
            raise refused(
                "ServiceAccessNotEnabledException",
                "trusted access is not enabled for IAM in AWS Organizations.",
            )
        return ActionResult({"OrganizationId": backend.org.id, "EnabledFeatures": []})

    if not hasattr(IamResponse, "list_organizations_features"):
        IamResponse.list_organizations_features = list_organizations_features


def install():
    add_service_last_accessed()
    add_list_organizations_features()
