// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// KVStore is a key-value store for storage-write load. store is the first
// state variable on purpose: it lives at slot 0, so the value of key k sits
// at keccak256(abi.encode(k, 0)) and klay_getStorageAt can check a write.
contract KVStore {
    mapping(uint256 => uint256) public store;

    function set(uint256 key, uint256 value) external {
        store[key] = value;
    }

    function get(uint256 key) external view returns (uint256) {
        return store[key];
    }
}
