//! Alibaba Cloud ECS regions, from ECS `DescribeRegions` (2025): the public regions whose ECS
//! endpoint follows the SDK's `regional` rule (`alibabacloud_ecs20140526` 7.11.8
//! `Client._endpoint_map` lists only the exceptions; cn-hangzhou's is
//! `ecs-cn-hangzhou.aliyuncs.com`).

/// Alibaba Cloud ECS public regions.
pub const REGIONS: &[&str] = &[
    "cn-qingdao",
    "cn-beijing",
    "cn-zhangjiakou",
    "cn-huhehaote",
    "cn-wulanchabu",
    "cn-hangzhou",
    "cn-shanghai",
    "cn-nanjing",
    "cn-fuzhou",
    "cn-wuhan-lr",
    "cn-shenzhen",
    "cn-heyuan",
    "cn-guangzhou",
    "cn-chengdu",
    "cn-hongkong",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "us-east-1",
    "us-west-1",
    "eu-west-1",
    "eu-central-1",
    "me-east-1",
    "me-central-1",
    "na-south-1",
];
