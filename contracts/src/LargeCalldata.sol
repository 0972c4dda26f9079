// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// LargeCalldata takes a large input and keeps only its digest and length:
// the load is the bandwidth and the block size, not storage.
contract LargeCalldata {
    bytes32 public lastHash;
    uint256 public lastLength;
    uint256 public calls;

    function put(bytes calldata data) external {
        lastHash = keccak256(data);
        lastLength = data.length;
        calls++;
    }
}
