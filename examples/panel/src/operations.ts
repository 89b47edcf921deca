// The GraphQL operations an agent panel sends. `graphql-codegen` reads this file and writes
// the typed documents and result types to `src/gql/` (run `npm run codegen`).
import { graphql } from './gql/index.js';

/** Signs in: the token goes in `Authorization: Bearer …` and in the WebSocket's `connection_init`. */
export const SignIn = graphql(`
  mutation SignIn($email: String!, $password: String!) {
    login(email: $email, password: $password) {
      token
      expiresAt
      agent {
        id
        name
        status
      }
    }
  }
`);

/** ACTIVE to receive new chats, INACTIVE to stop. */
export const SetMyStatus = graphql(`
  mutation SetMyStatus($status: AgentStatus!) {
    setMyStatus(status: $status) {
      id
      status
    }
  }
`);

/** The panel's two lists: chats in progress, and waiting chats offered or directed to me. */
export const MyChats = graphql(`
  query MyChats {
    myChats {
      active {
        id
        status
        createdAt
        contact {
          id
          name
        }
      }
      new {
        id
        status
        createdAt
        contact {
          id
          name
        }
      }
    }
  }
`);

/** One chat with its contact and its last 20 messages (oldest first within the page). */
export const ChatWithMessages = graphql(`
  query ChatWithMessages($id: ID!) {
    chat(id: $id) {
      id
      status
      createdAt
      acceptedAt
      contact {
        id
        name
        photoUrl
      }
      owner {
        id
        name
      }
      messages(last: 20) {
        pageInfo {
          hasPreviousPage
          startCursor
        }
        edges {
          node {
            id
            direction
            authorKind
            kind
            text
            deliveryStatus
            createdAt
          }
        }
      }
    }
  }
`);

/** Takes a waiting chat offered or directed to me. */
export const AcceptChat = graphql(`
  mutation AcceptChat($chatId: ID!) {
    acceptChat(chatId: $chatId) {
      id
      status
      acceptedAt
      owner {
        id
      }
    }
  }
`);

/** Replies in a chat I own. */
export const SendMessage = graphql(`
  mutation SendMessage($chatId: ID!, $text: String!) {
    sendMessage(input: { chatId: $chatId, text: $text }) {
      id
      direction
      text
      deliveryStatus
      createdAt
    }
  }
`);

/**
 * My events: offers, assignments, messages in my chats, my status. Pass the id of the last
 * event received as `after` when resubscribing, and the server replays what was missed.
 */
export const MyChatEvents = graphql(`
  subscription MyChatEvents($after: ID) {
    myChatEvents(after: $after) {
      id
      kind
      at
      chatId
      chat {
        id
        status
      }
      agent {
        id
      }
      message {
        id
        direction
        text
      }
      details
    }
  }
`);
