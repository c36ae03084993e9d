#!/usr/bin/env python3
"""Drive each cloud's official Python SDK against the emulator, as a user would.

For every cloud: start an export and follow it to completion, start a copy (sync) and follow
it until the destination image is usable, read the exported objects back from the emulated
bucket with boto3 (the official AWS SDK, SigV4), and check that a wrong secret makes the SDK
raise the cloud's authentication error. Every call goes through the SDK's own request
building, signing and response parsing; nothing here builds HTTP by hand.

Usage: python sdk_check.py --emulator target/debug/cloud-emulator
Prints one line per check and "N passed, N failed" at the end; exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

CATALOG = json.loads((Path(__file__).resolve().parent.parent / "default-catalog.json").read_text())
AK, SK = CATALOG["accounts"][0]["credentials"][0]["ak"], CATALOG["accounts"][0]["credentials"][0]["sk"]
HUAWEI_PROJECTS = CATALOG["accounts"][0]["huawei_projects"]
# One cloud hour per real second: the default catalogue's exports take 1 to 3 seconds.
TIME_SCALE = 3600
POLL_SECONDS = 0.2
DEADLINE_SECONDS = 60


def image(cloud: str, name: str) -> str:
    return next(i["id"] for i in CATALOG["images"] if i["cloud"] == cloud and i["name"] == name)


def bucket(cloud: str) -> str:
    return next(b["name"] for b in CATALOG["buckets"] if b["cloud"] == cloud and b.get("writable", True))


def wait_for(what: str, probe: Callable[[], object]) -> object:
    """Calls `probe` until it returns something truthy; returns it."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"timed out waiting for {what}")


class Emulator:
    def __init__(self, binary: Path):
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        self.process = subprocess.Popen([str(binary), "--time-scale", str(TIME_SCALE)],
                                        stdout=subprocess.PIPE, text=True, env=env)
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http://"):
            raise RuntimeError(f"the emulator printed {self.base_url!r} instead of its URL")
        self.hostport = self.base_url.removeprefix("http://")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def s3_objects(emulator: Emulator, bucket_name: str, keys: list) -> list:
    """HEADs and GETs each object with boto3 (SigV4, path style); returns their sizes."""
    import boto3
    from botocore.config import Config

    s3 = boto3.client("s3", endpoint_url=emulator.base_url, region_name="us-east-1",
                      aws_access_key_id=AK, aws_secret_access_key=SK,
                      config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    sizes = []
    for key in keys:
        head = s3.head_object(Bucket=bucket_name, Key=key)
        size = head["ContentLength"]
        assert size > 0, f"{key}: empty object"
        part = s3.get_object(Bucket=bucket_name, Key=key, Range="bytes=0-1023")["Body"].read()
        assert len(part) == min(1024, size), f"{key}: ranged GET returned {len(part)} bytes"
        sizes.append(size)
    return sizes


# --------------------------------------------------------------------------- Tencent

def tencent_client(emulator: Emulator, region: str, secret: str = SK):
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.cvm.v20170312 import cvm_client

    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=emulator.hostport))
    return cvm_client.CvmClient(credential.Credential(AK, secret), region, profile)


def tencent_export(emulator: Emulator) -> str:
    from tencentcloud.cvm.v20170312 import models

    client = tencent_client(emulator, "ap-guangzhou")
    request = models.ExportImagesRequest()
    request.BucketName = bucket("tencent")
    request.ImageIds = [image("tencent", "web-server-2025"), image("tencent", "database-2025")]
    request.ExportFormat = "QCOW2"
    request.FileNamePrefixList = ["web", "db"]
    response = client.ExportImages(request)
    keys = [path.lstrip("/") for path in response.CosPaths]
    assert response.TaskId is not None and len(keys) >= 2, response.to_json_string()
    # Tencent has no export-task API: the objects appearing is what completion looks like.
    wait_for("the COS objects", lambda: emulator_objects(emulator, request.BucketName, keys))
    sizes = s3_objects(emulator, request.BucketName, keys)
    return f"task {response.TaskId}, {len(keys)} objects, {sum(sizes)} bytes"


def tencent_sync(emulator: Emulator) -> str:
    from tencentcloud.cvm.v20170312 import models

    client = tencent_client(emulator, "ap-guangzhou")
    request = models.SyncImagesRequest()
    request.ImageIds = [image("tencent", "web-server-2025")]
    request.DestinationRegions = ["ap-shanghai", "ap-beijing"]
    request.ImageSetRequired = True
    response = client.SyncImages(request)
    destinations = {item.Region: item.ImageId for item in response.ImageSet}
    assert set(destinations) == set(request.DestinationRegions), response.to_json_string()
    for region, image_id in destinations.items():
        regional = tencent_client(emulator, region)

        def normal():
            describe = models.DescribeImagesRequest()
            describe.ImageIds = [image_id]
            images = regional.DescribeImages(describe).ImageSet
            return images and images[0].ImageState == "NORMAL"

        wait_for(f"{image_id} NORMAL in {region}", normal)
    return f"images {destinations}"


def tencent_wrong_secret(emulator: Emulator) -> str:
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.cvm.v20170312 import models

    try:
        tencent_client(emulator, "ap-guangzhou", SK + "x").DescribeImages(models.DescribeImagesRequest())
    except TencentCloudSDKException as err:
        assert err.get_code() == "AuthFailure.SignatureFailure", err
        assert err.get_request_id(), "the error carries a request id"
        return err.get_code()
    raise AssertionError("a wrong secret was accepted")


def add_images(emulator: Emulator, cloud: str, region: str, ids: list, name: str, tags: dict) -> None:
    """Adds images while the emulator runs (control call), image i created i hours ago."""
    from urllib.request import Request, urlopen

    body = [{"image": {"cloud": cloud, "region": region, "id": image_id, "name": name,
                       "size_gb": 1, "tags": tags}, "age_seconds": 3600 * i}
            for i, image_id in enumerate(ids)]
    request = Request(f"{emulator.base_url}/_emulator/images", data=json.dumps(body).encode(),
                      headers={"Content-Type": "application/json"}, method="POST")
    with urlopen(request) as answer:
        assert json.load(answer)["added"] == len(ids)


def tencent_filtered_pages(emulator: Emulator) -> str:
    from tencentcloud.cvm.v20170312 import models

    ids = [f"img-pg{i:06d}" for i in range(120)]
    add_images(emulator, "tencent", "ap-guangzhou", ids, "paged-web", {"backup": "nightly"})
    client = tencent_client(emulator, "ap-guangzhou")
    seen, offset, calls = [], 0, 0
    while True:
        request = models.DescribeImagesRequest()
        filters = []
        for name, values in (("image-type", ["PRIVATE_IMAGE"]), ("image-name", ["paged-"]),
                             ("tag:backup", ["nightly"])):
            f = models.Filter()
            f.Name, f.Values = name, values
            filters.append(f)
        request.Filters, request.Offset, request.Limit = filters, offset, 50
        response = client.DescribeImages(request)
        calls += 1
        seen += [item.ImageId for item in response.ImageSet]
        assert all({t.Key: t.Value for t in item.Tags}.get("backup") == "nightly" for item in response.ImageSet)
        offset += len(response.ImageSet)
        if not response.ImageSet or offset >= response.TotalCount:
            break
    assert sorted(seen) == ids and calls == 3, (len(seen), calls)
    return f"{len(seen)} images in {calls} pages of 50 (image-type, image-name, tag:backup)"


# --------------------------------------------------------------------------- Alibaba

def alibaba_client(emulator: Emulator, region: str, secret: str = SK):
    from alibabacloud_ecs20140526.client import Client
    from alibabacloud_tea_openapi.utils_models import Config

    return Client(Config(access_key_id=AK, access_key_secret=secret, region_id=region,
                         endpoint=emulator.hostport, protocol="http"))


def alibaba_export(emulator: Emulator) -> str:
    from alibabacloud_ecs20140526 import models

    client = alibaba_client(emulator, "cn-hangzhou")
    request = models.ExportImageRequest(region_id="cn-hangzhou", image_id=image("alibaba", "web-server-2025"),
                                        ossbucket=bucket("alibaba"), ossprefix="web2025", image_format="qcow2")
    task_id = client.export_image(request).body.task_id
    assert task_id, "ExportImage returns a TaskId"

    def finished():
        body = client.describe_task_attribute(
            models.DescribeTaskAttributeRequest(region_id="cn-hangzhou", task_id=task_id)).body
        assert body.task_status not in ("Failed", "Cancelled"), body.to_map()
        return body if body.task_status == "Finished" else None

    body = wait_for(f"task {task_id} Finished", finished)
    assert body.task_process == "100%", body.task_process
    keys = [item.value for progress in body.operation_progress_set.operation_progress
            for item in progress.related_item_set.related_item if item.name == "OSSObject"]
    assert keys, body.to_map()
    sizes = s3_objects(emulator, request.ossbucket, keys)
    return f"task {task_id}, objects {keys}, {sum(sizes)} bytes"


def alibaba_copy(emulator: Emulator) -> str:
    from alibabacloud_ecs20140526 import models

    client = alibaba_client(emulator, "cn-hangzhou")
    request = models.CopyImageRequest(region_id="cn-hangzhou", image_id=image("alibaba", "web-server-2025"),
                                      destination_region_id="cn-shanghai", destination_image_name="web-copy",
                                      client_token="sdk-check-copy-1")
    new_id = client.copy_image(request).body.image_id
    again = client.copy_image(request).body.image_id
    assert new_id and again == new_id, f"ClientToken: {new_id} then {again}"
    regional = alibaba_client(emulator, "cn-shanghai")

    def available():
        images = regional.describe_images(models.DescribeImagesRequest(
            region_id="cn-shanghai", image_id=new_id, status="Creating,Available")).body.images.image
        return images and images[0].status == "Available"

    wait_for(f"{new_id} Available", available)
    return f"image {new_id} in cn-shanghai"


def alibaba_filtered_pages(emulator: Emulator) -> str:
    from alibabacloud_ecs20140526 import models

    ids = [f"m-bp1pg{i:016d}" for i in range(120)]
    add_images(emulator, "alibaba", "cn-hangzhou", ids, "paged-web", {"backup": "nightly"})
    client = alibaba_client(emulator, "cn-hangzhou")
    seen, page = [], 1
    while True:
        body = client.describe_images(models.DescribeImagesRequest(
            region_id="cn-hangzhou", image_owner_alias="self", status="Available", image_name="paged-",
            tag=[models.DescribeImagesRequestTag(key="backup", value="nightly")],
            page_number=page, page_size=50)).body
        rows = body.images.image
        seen += [row.image_id for row in rows]
        assert all({t.tag_key: t.tag_value for t in row.tags.tag}.get("backup") == "nightly" for row in rows)
        if not rows or len(seen) >= body.total_count:
            break
        page += 1
    assert sorted(seen) == ids and page == 3, (len(seen), page)
    return f"{len(seen)} images in {page} pages of 50 (ImageOwnerAlias, Status, ImageName, Tag.1)"


def alibaba_wrong_secret(emulator: Emulator) -> str:
    from alibabacloud_ecs20140526 import models
    from Tea.exceptions import TeaException

    try:
        alibaba_client(emulator, "cn-hangzhou", SK + "x").describe_images(
            models.DescribeImagesRequest(region_id="cn-hangzhou"))
    except TeaException as err:
        assert err.code in ("SignatureDoesNotMatch", "IncompleteSignature"), err
        return err.code
    raise AssertionError("a wrong secret was accepted")


# --------------------------------------------------------------------------- Volcengine

def volcengine_api(emulator: Emulator, region: str, secret: str = SK):
    import volcenginesdkcore
    import volcenginesdkecs

    configuration = volcenginesdkcore.Configuration()
    configuration.ak, configuration.sk, configuration.region = AK, secret, region
    configuration.host, configuration.scheme = emulator.hostport, "http"
    configuration.auto_retry = False
    return volcenginesdkecs.ECSApi(volcenginesdkcore.ApiClient(configuration))


def volcengine_export(emulator: Emulator) -> str:
    import volcenginesdkecs as ecs

    api = volcengine_api(emulator, "cn-beijing")
    image_id = image("volcengine", "web-server-2025")
    task_id = api.export_image(ecs.ExportImageRequest(image_id=image_id, tos_bucket=bucket("volcengine"),
                                                      tos_prefix="web2025")).task_id

    def succeeded():
        tasks = api.describe_tasks(ecs.DescribeTasksRequest(task_ids=[task_id])).tasks
        assert tasks and tasks[0].status != "Failed", tasks
        return tasks[0].status == "Succeeded" and tasks[0].process == 100

    wait_for(f"task {task_id} Succeeded", succeeded)
    keys = [f"web2025_{image_id}_system.qcow2"]
    sizes = s3_objects(emulator, bucket("volcengine"), keys)
    return f"task {task_id}, objects {keys}, {sum(sizes)} bytes"


def volcengine_copy(emulator: Emulator) -> str:
    import volcenginesdkecs as ecs

    api = volcengine_api(emulator, "cn-beijing")
    new_id = api.copy_image(ecs.CopyImageRequest(image_id=image("volcengine", "web-server-2025"),
                                                 destination_region="cn-shanghai",
                                                 image_name="web-copy")).image_id
    regional = volcengine_api(emulator, "cn-shanghai")

    def available():
        images = regional.describe_images(ecs.DescribeImagesRequest(image_ids=[new_id])).images
        return images and images[0].status == "available"

    wait_for(f"{new_id} available in cn-shanghai", available)
    return f"image {new_id} in cn-shanghai"


def volcengine_filtered_pages(emulator: Emulator) -> str:
    import volcenginesdkecs as ecs

    ids = [f"image-ycpg{i:015d}" for i in range(120)]
    add_images(emulator, "volcengine", "cn-beijing", ids, "paged-web", {"backup": "nightly"})
    client = volcengine_api(emulator, "cn-beijing")
    seen, token, calls = [], None, 0
    while True:
        result = client.describe_images(ecs.DescribeImagesRequest(
            visibility="private", status=["available"], image_name="paged-web",
            tag_filters=[ecs.TagFilterForDescribeImagesInput(key="backup", values=["nightly"])],
            max_results=50, next_token=token))
        calls += 1
        seen += [item.image_id for item in result.images]
        assert all({t.key: t.value for t in item.tags}.get("backup") == "nightly" for item in result.images)
        token = result.next_token
        if not token:
            break
    assert sorted(seen) == ids and calls == 3, (len(seen), calls)
    return f"{len(seen)} images in {calls} pages of 50 (Visibility, Status.1, ImageName, TagFilters.1)"


def volcengine_wrong_secret(emulator: Emulator) -> str:
    import volcenginesdkecs as ecs
    from volcenginesdkcore.rest import ApiException

    try:
        volcengine_api(emulator, "cn-beijing", SK + "x").describe_images(ecs.DescribeImagesRequest())
    except ApiException as err:
        body = json.loads(err.body)
        code = body["ResponseMetadata"]["Error"]["Code"]
        assert code == "SignatureDoesNotMatch", body
        return f"HTTP {err.status} {code}"
    raise AssertionError("a wrong secret was accepted")


# --------------------------------------------------------------------------- Huawei

def huawei_client(emulator: Emulator, region: str, secret: str = SK):
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkims import v2

    config = HttpConfig.get_default_config()
    config.retry_times = 0
    return (v2.ImsClient.new_builder().with_http_config(config)
            .with_credentials(BasicCredentials(AK, secret, HUAWEI_PROJECTS[region]))
            .with_endpoints([emulator.base_url]).build())


def huawei_job(client, job_id: str):
    from huaweicloudsdkims import v2

    def done():
        job = client.show_job_progress(v2.ShowJobProgressRequest(job_id=job_id))
        assert job.status != "FAIL", job
        return job if job.status == "SUCCESS" else None

    return wait_for(f"job {job_id} SUCCESS", done)


def huawei_export(emulator: Emulator) -> str:
    from huaweicloudsdkims import v2

    client = huawei_client(emulator, "cn-north-4")
    key = "exports/web-2025.qcow2"
    body = v2.ExportImageRequestBody(bucket_url=f"{bucket('huawei')}:{key}", file_format="qcow2")
    job_id = client.export_image(v2.ExportImageRequest(image_id=image("huawei", "web-server-2025"), body=body)).job_id
    huawei_job(client, job_id)
    sizes = s3_objects(emulator, bucket("huawei"), [key])
    return f"job {job_id}, object {key}, {sum(sizes)} bytes"


def huawei_copy(emulator: Emulator) -> str:
    from huaweicloudsdkims import v2

    client = huawei_client(emulator, "cn-north-4")
    body = v2.CopyImageCrossRegionRequestBody(region="cn-east-3", project_name="cn-east-3",
                                              agency_name="ims_admin_agency", name="web-copy")
    job_id = client.copy_image_cross_region(
        v2.CopyImageCrossRegionRequest(image_id=image("huawei", "web-server-2025"), body=body)).job_id
    new_id = huawei_job(client, job_id).entities.image_id
    regional = huawei_client(emulator, "cn-east-3")
    images = regional.list_images(v2.ListImagesRequest(id=new_id)).images
    assert images and images[0].status == "active", images
    return f"image {new_id} in cn-east-3"


def huawei_filtered_pages(emulator: Emulator) -> str:
    from huaweicloudsdkims import v2

    ids = [f"4d0ab5e2-3114-578f-81d7-9a9e{i:08d}" for i in range(120)]
    add_images(emulator, "huawei", "cn-north-4", ids, "paged-web", {"backup": "nightly"})
    # The same name without the tag: the tag filter must leave these out.
    add_images(emulator, "huawei", "cn-north-4",
               [f"4d0ab5e2-3114-578f-81d7-9a9f{i:08d}" for i in range(10)], "paged-web", {})
    client = huawei_client(emulator, "cn-north-4")
    # Every image was made within the last 120 hours (image i, i hours ago).
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 200 * 3600))
    seen, marker, calls = [], None, 0
    while True:
        response = client.list_images(v2.ListImagesRequest(
            imagetype="private", status="active", name="paged-web", tag="backup=nightly",
            created_at=f"gte:{since}", limit=50, marker=marker))
        calls += 1
        seen += [item.id for item in response.images]
        assert all(item.name == "paged-web" and item.status == "active" for item in response.images)
        marker = response.page_info.next_marker if response.page_info else None
        if not marker:
            break
    assert sorted(seen) == ids and calls == 3, (len(seen), calls)
    return f"{len(seen)} images in {calls} pages of 50 (__imagetype, status, name, tag, created_at, limit/marker)"


def huawei_wrong_secret(emulator: Emulator) -> str:
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
    from huaweicloudsdkims import v2

    try:
        huawei_client(emulator, "cn-north-4", SK + "x").list_images(v2.ListImagesRequest())
    except ClientRequestException as err:
        assert err.status_code == 401 and err.error_code.startswith("APIGW."), err
        assert err.request_id, "the error carries the X-Request-Id"
        return f"HTTP {err.status_code} {err.error_code}"
    raise AssertionError("a wrong secret was accepted")


# --------------------------------------------------------------------------- driver

def emulator_objects(emulator: Emulator, bucket_name: str, keys: list) -> bool:
    from urllib.request import urlopen

    with urlopen(f"{emulator.base_url}/_emulator/objects?bucket={bucket_name}") as answer:
        present = json.load(answer)
    return all(key in present for key in keys)


CHECKS = [
    ("tencent export (ExportImages, objects in COS)", tencent_export),
    ("tencent sync (SyncImages to two regions)", tencent_sync),
    ("tencent wrong secret", tencent_wrong_secret),
    ("tencent filtered listing paged (DescribeImages Filters, Offset/Limit)", tencent_filtered_pages),
    ("alibaba export (ExportImage, DescribeTaskAttribute)", alibaba_export),
    ("alibaba copy (CopyImage with ClientToken, DescribeImages)", alibaba_copy),
    ("alibaba wrong secret", alibaba_wrong_secret),
    ("alibaba filtered listing paged (DescribeImages Tag.N, PageNumber/PageSize)", alibaba_filtered_pages),
    ("volcengine export (ExportImage, DescribeTasks)", volcengine_export),
    ("volcengine copy (CopyImage, DescribeImages)", volcengine_copy),
    ("volcengine wrong secret", volcengine_wrong_secret),
    ("volcengine filtered listing paged (DescribeImages TagFilters.N, MaxResults/NextToken)", volcengine_filtered_pages),
    ("huawei export (file, ShowJobProgress)", huawei_export),
    ("huawei copy (cross_region_copy, ListImages)", huawei_copy),
    ("huawei wrong secret", huawei_wrong_secret),
    ("huawei filtered listing paged (ListImages tag, created_at, limit/marker)", huawei_filtered_pages),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emulator", required=True, type=Path, help="the cloud-emulator binary")
    parser.add_argument("--only", help="run only the checks whose name contains this")
    args = parser.parse_args(argv)
    emulator = Emulator(args.emulator)
    passed = failed = 0
    try:
        for name, check in CHECKS:
            if args.only and args.only not in name:
                continue
            try:
                print(f"ok   {name}: {check(emulator)}", flush=True)
                passed += 1
            except Exception:  # report every failing check, then fail the run
                failed += 1
                print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
    finally:
        emulator.close()
    print(f"official SDKs against the emulator: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
