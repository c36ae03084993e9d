#!/usr/bin/env python3
"""One status call through a cloud's official SDK, against the emulator: the SDK side of
compare_status.py. Imports the SDK, builds its client, makes the one call, prints the task's
state and exits 0 (1 if the answer does not name the task).

    .venv-conformance/bin/python tests/conformance/sdk_status.py CLOUD BASE_URL REGION ID

CLOUD is tencent (ID: an image; DescribeImages), alibaba (ID: a task; DescribeTasks),
volcengine (ID: a task; DescribeTasks) or huawei (ID: a job; ShowJobProgress). The keys are
the emulator's default ones, or TENCENTCLOUD_SECRET_ID/... as the SDKs read them; Huawei's
project comes from HUAWEICLOUD_PROJECT_IDS (REGION=ID,...).
"""

from __future__ import annotations

import os
import sys

AK = os.environ.get("IMGFLOW_BENCH_AK", "imgflow-emulator-ak")
SK = os.environ.get("IMGFLOW_BENCH_SK", "imgflow-emulator-sk")


def tencent(base_url: str, region: str, image_id: str) -> str:
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.cvm.v20170312 import cvm_client, models

    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=base_url.removeprefix("http://")))
    client = cvm_client.CvmClient(credential.Credential(AK, SK), region, profile)
    request = models.DescribeImagesRequest()
    request.ImageIds = [image_id]
    images = client.DescribeImages(request).ImageSet
    return images[0].ImageState if images else ""


def alibaba(base_url: str, region: str, task_id: str) -> str:
    from alibabacloud_ecs20140526 import models
    from alibabacloud_ecs20140526.client import Client
    from alibabacloud_tea_openapi.utils_models import Config

    client = Client(Config(access_key_id=AK, access_key_secret=SK, region_id=region,
                           endpoint=base_url.removeprefix("http://"), protocol="http"))
    body = client.describe_tasks(models.DescribeTasksRequest(region_id=region, task_ids=task_id)).body
    tasks = body.task_set.task if body.task_set else []
    return tasks[0].task_status if tasks else ""


def volcengine(base_url: str, region: str, task_id: str) -> str:
    import volcenginesdkcore
    import volcenginesdkecs

    configuration = volcenginesdkcore.Configuration()
    configuration.ak, configuration.sk, configuration.region = AK, SK, region
    configuration.host, configuration.scheme = base_url.removeprefix("http://"), "http"
    configuration.auto_retry = False
    api = volcenginesdkecs.ECSApi(volcenginesdkcore.ApiClient(configuration))
    tasks = api.describe_tasks(volcenginesdkecs.DescribeTasksRequest(task_ids=[task_id])).tasks
    return tasks[0].status if tasks else ""


def huawei(base_url: str, region: str, job_id: str) -> str:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkims import v2

    projects = dict(pair.split("=", 1) for pair in os.environ.get("HUAWEICLOUD_PROJECT_IDS", "").split(",") if "=" in pair)
    config = HttpConfig.get_default_config()
    config.retry_times = 0
    client = (v2.ImsClient.new_builder().with_http_config(config)
              .with_credentials(BasicCredentials(AK, SK, projects.get(region)))
              .with_endpoints([base_url]).build())
    return client.show_job_progress(v2.ShowJobProgressRequest(job_id=job_id)).status or ""


CALLS = {"tencent": tencent, "alibaba": alibaba, "volcengine": volcengine, "huawei": huawei}


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] not in CALLS:
        print(__doc__, file=sys.stderr)
        return 2
    cloud, base_url, region, ident = argv
    state = CALLS[cloud](base_url, region, ident)
    print(state)
    return 0 if state else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
