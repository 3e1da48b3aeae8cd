"""API Gateway: tagging a REST API after its creation."""


def add_rest_api_tagging():
    """TagResource and UntagResource on a REST API. moto's only handle a stage's ARN and fail
    on `arn:aws:apigateway:<region>::/restapis/<id>`; on AWS a REST API is a taggable resource
    whose tags can change after its creation. Stage ARNs still go to moto's own.
    https://docs.aws.amazon.com/apigateway/latest/api/API_TagResource.html
    https://docs.aws.amazon.com/apigateway/latest/api/API_UntagResource.html
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-tagging.html
    """
    import json
    from urllib.parse import unquote

    from moto.apigateway.responses import APIGatewayResponse
    from moto.apigateway.urls import url_paths

    # The server decodes the ARN's `/`s, and moto routes only a stage's ARN under /tags/.
    url_paths[
        "{0}/tags/arn:(?P<partition>[^/]+):apigateway:(?P<region_name>[^/]+)::/restapis/"
        "(?P<function_id>[^/]+)$"
    ] = APIGatewayResponse.dispatch
    moto_tag, moto_untag = APIGatewayResponse.tag_resource, APIGatewayResponse.untag_resource

    def rest_api_of(self):
        """The REST API a tagging call's ARN names, or None when it names something else."""
        arn = unquote(self.path.split("/tags/")[1])
        parts = arn.split("::", 1)[-1].strip("/").split("/")
        if len(parts) == 2 and parts[0] == "restapis":
            return self.backend.get_rest_api(parts[1])
        return None

    def tag_resource(self):
        api = rest_api_of(self)
        if api is None:
            return moto_tag(self)
        tags = self._get_param("tags") or {}
        api.tags = {**(api.tags or {}), **tags}
        return json.dumps({})

    def untag_resource(self):
        api = rest_api_of(self)
        if api is None:
            return moto_untag(self)
        for key in self.querystring.get("tagKeys") or []:
            (api.tags or {}).pop(key, None)
        return json.dumps({})

    APIGatewayResponse.tag_resource = tag_resource
    APIGatewayResponse.untag_resource = untag_resource


def install():
    add_rest_api_tagging()
